-- expect-deopts: 1
-- Field reads and writes speculated to find their key in the table itself: the value
-- changes type, the field is removed (the answer then comes from `__index`), removed and
-- written again (`__newindex` decides), a class's method is replaced through a field
-- write inside a hot loop (lookup caches must forget the old one), and keys are added
-- while a loop reads others (the hash part is rebuilt).
local function sum(p, n)
  local s = 0
  for i = 1, n do s = s + p.x + p.y end
  return s
end
local p = { x = 1, y = 2 }
print("ints", sum(p, 10), sum(p, 10))
p.x = 0.5
print("float", sum(p, 10))
p.x = "3"
print("string", sum(p, 10))
p.x = nil
setmetatable(p, { __index = function(_, k) return k == "x" and 100 or 0 end })
print("removed", sum(p, 3))

local log = {}
local q = setmetatable({ v = 1 }, { __newindex = function(t, k, v) log[#log + 1] = k .. "=" .. tostring(v); rawset(t, k, v) end })
local function bump(t, n)
  for i = 1, n do
    t.v = t.v + 1
    if i == 3 then t.v = nil; t.v = 50 end
  end
  return t.v
end
print("bump", bump({ v = 1 }, 5), bump(q, 5), table.concat(log, " "))

local Shape = {}
Shape.__index = Shape
function Shape.area(s) return s.w * s.h end
local function total(shapes, rounds)
  local t = 0
  for r = 1, rounds do
    for i = 1, #shapes do t = t + shapes[i]:area() end
    if r == 2 then Shape.area = function(s) return s.w + s.h end end
  end
  return t
end
local shapes = {}
for i = 1, 5 do shapes[i] = setmetatable({ w = i, h = 2 }, Shape) end
print("methods", total(shapes, 4), total(shapes, 2))

local function grow(t, n)
  local s = 0
  for i = 1, n do
    s = s + t.a
    t["k" .. i] = i
  end
  return s
end
print("grow", grow({ a = 2 }, 40), grow({ a = 3 }, 40))
