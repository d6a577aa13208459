-- expect-deopts: 2
-- Loops calling math.sqrt (a native the optimizer turns into a square root), on floats
-- and on ints, with math.sqrt replaced mid-loop (by a Lua function, by another native)
-- and its argument turning from float to int: each change must be seen at once.
local sqrt = math.sqrt
local s = 0.0
for i = 1, 400 do
  if i == 200 then math.sqrt = function(v) return v * 2 end end
  s = s + math.sqrt(i * 0.5)
end
print(string.format("%.6f", s))
math.sqrt = sqrt
s = 0.0
for i = 1, 400 do
  if i == 300 then math.sqrt = math.abs end
  s = s + math.sqrt(i)
end
print(string.format("%.6f", s))
math.sqrt = sqrt
s = 0.0
for i = 1, 400 do
  local x = i * 0.25
  if i > 100 then x = i end
  s = s + math.sqrt(x)
end
print(string.format("%.6f", s))
print(math.type(math.sqrt(16)), math.sqrt(16), math.sqrt(-1) ~= math.sqrt(-1))
