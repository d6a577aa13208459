-- expect-deopts: 1
-- An array shrinks (and grows) inside the loop that reads it by index.
local t = {}
for i = 1, 100 do t[i] = i end
local s, missing = 0, 0
for i = 1, #t do
  if i == 50 then for j = #t, 60, -1 do t[j] = nil end end
  local v = t[i]
  if v then s = s + v else missing = missing + 1 end
end
print(s, missing, #t)
local u = { 1, 2, 3 }
local acc = 0
for i = 1, 10 do
  acc = acc + (u[i] or 100)
  if i == 2 then u[#u + 1] = 7 end
end
print(acc, #u)
-- The same reads in a function optimized while its array was whole: once the array
-- has shrunk, a read of a missing element leaves the optimized code.
local function sum(a, n)
  local total, gaps = 0, 0
  for i = 1, n do
    local v = a[i]
    if v then total = total + v else gaps = gaps + 1 end
  end
  return total, gaps
end
local w = {}
for i = 1, 50 do w[i] = i * 2 end
for _ = 1, 3 do print(sum(w, 50)) end
for j = 50, 21, -1 do w[j] = nil end
print(sum(w, 50))
print(sum(w, 60), #w)
