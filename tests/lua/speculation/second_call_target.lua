-- expect-deopts: 2
-- A call site optimized for the one function it had called, given a second: the guard
-- on the callee fails, and the next optimized code tests for both and inlines them
-- (one failure of the one-callee guess leaves the two-callee guess open). A third
-- then fails that guard too, and the site stays a plain call.
local function reduce(t, f, acc)
  for i = 1, #t do acc = f(acc, t[i]) end
  return acc
end

local t = {}
for i = 1, 200 do t[i] = (i * 37) % 101 end
local total = 0
for round = 1, 40 do
  total = total + reduce(t, function(a, x) return (a + x) % 1000003 end, round)
end
print("one", total)
for round = 1, 40 do
  total = total + reduce(t, function(a, x) return (a + x) % 1000003 end, round)
  total = total + reduce(t, function(a, x) if x > a then return x end return a end, 0)
end
print("two", total)
for round = 1, 10 do
  total = total + reduce(t, function(a, x) return a * 3 % 1000 + x end, round)
  total = total + reduce(t, function(a, x) if x > a then return x end return a end, 0)
end
print("three", total)
