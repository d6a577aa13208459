-- tostring of every kind of value (addresses replaced: they differ between runs).
local function shape(v)
  local s = tostring(v)
  local at = string.find(s, "0x", 1, true)
  return at and (string.sub(s, 1, at - 1) .. "ADDR" .. (string.sub(s, -1) == ")" and ")" or "")) or s
end
print(tostring(nil), tostring(true), tostring(false))
print(tostring(0), tostring(-0), tostring(1), tostring(-17), tostring(math.maxinteger), tostring(math.mininteger))
print(tostring(0.0), tostring(-0.0), tostring(1.5), tostring(-2.25), tostring(1e15), tostring(1e16), tostring(2^63))
print(tostring(1e100), tostring(1e-300), tostring(0.1), tostring(1/3), tostring(100 / 2), tostring(3 // 1.0))
print(tostring(1/0), tostring(-1/0), tostring(0/0 ~= 0/0))
print(tostring(""), tostring("s"), tostring("a\0b") == "a\0b", #tostring("a\0b"))
print(shape({}), shape(print), shape(shape), shape(io.stdout), shape(string.len))
print(shape(setmetatable({}, {__name = "My"})))
print(tostring(setmetatable({}, {__tostring = function() return "T" end})))
print(pcall(tostring, setmetatable({}, {__tostring = function() return 1 end})))
print(pcall(tostring, setmetatable({}, {__tostring = function() return {} end})))
print(pcall(tostring, setmetatable({}, {__tostring = function() error("inside") end})))
print(pcall(tostring))
print(tostring(1, 2), select("#", tostring(nil)))
-- The same values through string concatenation and string.format's %s.
print(1 .. "", 1.0 .. "", -0.0 .. "", 2^63 .. "", math.mininteger .. "")
print(string.format("%s %s %s %s", nil, true, 12, 1.25))
for i = 1, 3 do
  local v = ({ 7, 7.5, "7" })[i]
  print(tostring(v), type(tostring(v)))
end
