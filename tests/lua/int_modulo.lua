-- Integer `%` in every tier: signs, the extremes, a divisor of 0 (an error), and a
-- divisor that becomes 0 in the middle of an optimized loop.
local function m(a, b) return a % b end
local cases = { {7, 3}, {-7, 3}, {7, -3}, {-7, -3}, {0, 5}, {5, 1}, {5, -1},
  {math.mininteger, -1}, {math.mininteger, 1}, {math.maxinteger, 2},
  {math.mininteger, 3}, {-1, math.mininteger}, {3, math.maxinteger}, {-3, math.maxinteger} }
for round = 1, 3 do
  local line = ""
  for k = 1, #cases do line = line .. m(cases[k][1], cases[k][2]) .. " " end
  print(line)
end
local s = 0
for i = 1, 5000 do s = s + (i * 7919) % 1009 - i % -13 end
print(s)
-- (lua5.4 names the line of the last instruction that saved its position for this
-- error, not the `%`'s: only whether it failed is printed.)
print((pcall(m, 5, 0)))
local function loop(n, z)
  local t = 0
  for i = 1, n do
    local d = 7
    if i == z then d = 0 end
    t = t + i % d
  end
  return t
end
print(loop(3000, -1))
print((pcall(loop, 3000, 2000)))
print(loop(3000, -1))
print(5.5 % 2, -5.5 % 2, 5 % 2.5, 7 % math.huge, -7 % math.huge)
