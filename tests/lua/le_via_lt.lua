-- Without `__le`, `a <= b` is `not (b < a)` through `__lt` (lua5.4 as Debian builds it,
-- with Lua 5.3 compatibility); with neither, comparing is an error.
local calls = {}
local lt = {__lt = function(a, b) calls[#calls + 1] = (type(a) == "table" and a.name or tostring(a)) .. "<" .. (type(b) == "table" and b.name or tostring(b)) return a.name == "x" end}
local x = setmetatable({name = "x"}, lt)
local y = setmetatable({name = "y"}, lt)
print(x <= y, y <= x, x >= y, y >= x)
print(pcall(function() return x <= nil end))
print(pcall(function() return 1 <= y end))
print(table.concat(calls, " "))
local le = {__le = function(a, b) return "le" end, __lt = function() return false end}
local z = setmetatable({}, le)
print(z <= z, z <= 1, z < z)
print(pcall(function() return {} <= {} end))
print(pcall(function() return {} <= 1 end))
for i = 1, 3 do
  local ok, r = pcall(function() return x <= (i == 2 and y or i) end)
  print(i, ok, r)
end
