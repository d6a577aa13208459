-- Arithmetic on an int and a float, and `/` on ints: float arithmetic on the operands
-- converted to float, which compiled code does inline. Edge values: large ints that do
-- not convert exactly, zeros of both signs, infinities, NaN, and operands that are not
-- numbers (strings coerce, others fail).

local function ops(a, b)
  return a + b, a - b, a * b, a / b
end

local function show(...)
  local t = {}
  for i = 1, select('#', ...) do
    local v = select(i, ...)
    t[#t + 1] = string.format("%s:%s", math.type(v) or type(v), tostring(v))
  end
  print(table.concat(t, " "))
end

local values = { 3, -7, 0, 2.5, -0.0, 0.0, 1e308, -1e308, 9007199254740993, -9007199254740993,
                 math.maxinteger, math.mininteger, 1 / 0, -1 / 0 }
for _, a in ipairs(values) do
  for _, b in ipairs(values) do
    show(ops(a, b))
  end
end

-- ints divided, in a loop the way spectral-norm computes its matrix
local function A(i, j)
  local ij = i + j
  return 1.0 / (ij * (ij + 1) / 2 + i + 1)
end
local s = 0.0
for i = 0, 60 do
  for j = 0, 60 do s = s + A(i, j) end
end
print(string.format("%.12f", s))
print(7 / 2, -7 / 2, 0 / 5, 5 // 2, 5.0 // 2, 5 % 2.5)

-- NaN from int division
local nan = 0 / 0
print(nan ~= nan)

-- strings coerce; other operands fail with Lua's message
show(ops("10", 2.5))
show(ops(1.5, "4"))
print(pcall(function() return 1.5 + {} end))
print(pcall(function() return 2 / nil end))
print(pcall(function() local t = {} ; return t.x * 0.5 end))

-- float arithmetic on constants gives the NaN the hardware gives, in every tier
print(0.0 / 0.0, -(0.0 / 0.0), 0 / 0, 0.0 * (1 / 0))
