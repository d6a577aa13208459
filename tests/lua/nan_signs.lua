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
