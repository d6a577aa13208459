-- Table reads and writes at the edges of compiled code's inline array accesses and
-- leaf calls: bounds, nil elements, float keys, metatables on either side, __index
-- chains of tables and functions, writes that insert or go through __newindex.

local function get(t, k) return t[k] end
local function set(t, k, v) t[k] = v end

local t = {10, 20, 30}
for _, k in ipairs({1, 3, 0, 4, -1, 2.0, 2.5, "x"}) do
  print("get", k, get(t, k))
end

-- Writes: in bounds, appending, far away, nil in the middle, float key.
set(t, 2, 21); set(t, 4, 40); set(t, 10, 100); set(t, 3, nil); set(t, 1.0, 11)
print("after", t[1], t[2], t[3], t[4], t[10], #t >= 2)

-- A hole read through __index, and a write to a hole through __newindex.
local log = {}
local mt = {
  __index = function(_, k) return "idx:" .. tostring(k) end,
  __newindex = function(tt, k, v) log[#log + 1] = k; rawset(tt, k, v) end,
}
local h = setmetatable({1, nil, 3}, mt)
print("holes", get(h, 1), get(h, 2), get(h, 3), get(h, 4))
set(h, 1, "one")     -- existing slot: no __newindex
set(h, 2, "two")     -- nil slot with __newindex
set(h, 5, "five")    -- outside the array
print("writes", h[1], rawget(h, 2), rawget(h, 5), table.concat(log, ","))

-- __index chains of tables, then a function at the end.
local base = {greet = "hello"}
local mid = setmetatable({}, {__index = base})
local top = setmetatable({}, {__index = mid})
print("chain", get(top, "greet"), get(top, "missing"))
setmetatable(base, {__index = function(_, k) return "fn:" .. k end})
print("chain fn", get(top, "greet"), get(top, "missing"))

-- Fields written in a loop (existing keys) and read back.
local p = {x = 0, y = 0}
for i = 1, 100 do
  set(p, "x", get(p, "x") + i)
  set(p, "y", get(p, "y") - i)
end
print("fields", p.x, p.y)

-- Errors still come from the runtime function.
print(pcall(get, nil, 1))
print(pcall(set, 5, 1, 2))
print(pcall(set, {}, nil, 2))
print(pcall(set, {}, 0/0, 2))

-- Numeric loops over arrays, nested.
local m = {}
for i = 1, 20 do
  m[i] = {}
  for j = 1, 20 do m[i][j] = i * j end
end
local s = 0
for i = 1, 20 do for j = 1, 20 do s = s + m[i][j] end end
print("sum", s)
