-- Numeric for loops at their edges: a step of 1 or -1 (written or not) with integer
-- bounds runs without a runtime call, anything else through the generic preparation;
-- both must agree with Lua's rules (no overflow at the integer limits, float bounds,
-- loops that do not run, bad bounds).
local s = 0
for i = 1, 10 do s = s + i end
for i = 10, 1, -1 do s = s + i end
for i = 5, 1 do s = s + 1000 end
for i = 1, 5, -1 do s = s + 1000 end
for i = 1, 3.5 do s = s + i end
for i = 1.5, 3 do s = s + i end
for i = 3, 1.5, -1 do s = s + i end
print(s)
local n = 0
for i = math.maxinteger - 2, math.maxinteger do n = n + 1 end
for i = math.mininteger, math.mininteger + 2 do n = n + 1 end
for i = math.mininteger + 2, math.mininteger, -1 do n = n + 1 end
for i = math.maxinteger, math.maxinteger - 1 do n = n + 1000 end
for i = 0, -5, -1 do n = n + i end
for i = 1, 10, 3 do n = n + i end
for i = 10, 1, -4 do n = n + i end
print(n)
-- bounds that change type between runs of the same loop
local function run(a, b)
  local c = 0
  for i = a, b do c = c + i end
  return c
end
for _, p in ipairs({ { 1, 4 }, { 1.5, 4 }, { 1, 4.5 }, { 3, 1 }, { -2, 2 } }) do
  io.write(tostring(run(p[1], p[2])), " ")
end
print()
for k = 1, 300 do n = n + run(1, k % 7) end
print(n)
print(pcall(function() for i = 1, {} do end end))
print(pcall(function() for i = nil, 3 do end end))
print(pcall(function() for i = 1, 3, 0 do end end))
