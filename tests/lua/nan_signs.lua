-- The sign of a NaN shows in print ("-nan" or "nan"): every tier must keep it as the
-- hardware makes it (x86: negative), including through negation, which optimized code
-- must not move into a multiplication or fold into a subtraction.
local function f(a, b)
  local x = (9 // 2) % 0.0
  local y = 0.0 / 0.0
  local z = a * (1 / 0)
  local w = -(b - b)
  local v = math.huge - math.huge
  return x, y, z, -x, -y, -z, w, v, -v, #tostring(x) + a
end
for i = 1, 3 do print(f(0, 1 / 0)) end
local function g(a, b, c)
  c = c + -((a * b))
  return c, #tostring(c)
end
for i = 1, 5 do print(g(i // 0.0, 0, math.mininteger)) end
-- Multiplying or dividing by a constant -1, or subtracting from -0.0, is the machine's
-- operation, which keeps the NaN's sign, not a negation, which flips it (LLVM would
-- make it one).
local function h(a) return a / -1, a * -1, -1 * a, -0.0 - a, -a, a / -1.0 end
local nan, negated = 0.0 / 0.0, -(0.0 / 0.0)
for i = 1, 200 do h(nan); h(negated); h(1.5) end
print(h(nan))
print(h(negated))
print(h(1.5))
print(h(-0.0))
