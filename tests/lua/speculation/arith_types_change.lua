-- expect-deopts: 1
-- The values flowing through one loop change type: ints, then floats, then strings
-- that convert to numbers. Optimized code speculates on what it saw first.
local function step(acc, x)
  return acc + x * 2
end

local acc = 0
for i = 1, 300 do
  local x
  if i <= 100 then
    x = i
  elseif i <= 200 then
    x = i + 0.5
  else
    x = tostring(i)
  end
  acc = step(acc, x)
end
print(acc, math.type(acc))

local function cmp(a, b) return a < b end
local n = 0
for i = 1, 200 do
  local b = i % 3 == 0 and i + 0.25 or i
  if cmp(i - 1, b) then n = n + 1 end
end
print(n, cmp("a", "b"), cmp(1.5, 2))
