-- expect-deopts: 1
-- A function that always indexed tables is given other values: a string (indexed
-- through its metatable), then a number (an error, caught).
local function get(t, k) return t[k] end
local sum = 0
local t = {}
for i = 1, 100 do t[i] = i end
for i = 1, 100 do sum = sum + get(t, i) end
print(sum)
print(type(get("abc", "len")), get("abc", "len")("hello"))
print(pcall(get, 42, 1))
local n = 0
for i = 1, 50 do
  local v = (i % 10 == 0) and "xy" or t
  local r = get(v, i % 10 == 0 and "upper" or i)
  if type(r) == "number" then n = n + r else n = n + #r("ok") end
end
print(n)
