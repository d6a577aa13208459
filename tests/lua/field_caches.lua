-- Field reads and writes with constant string keys, which compiled code serves from
-- a per-instruction cache of the hash-part entry that held the key last: tables of
-- different layouts at one site, fields removed and added back, rehashing, dynamic
-- keys equal to the constants, __index and __newindex for absent fields.

local function getx(t) return t.x end
local function setx(t, v) t.x = v end

-- one site, tables whose `x` sits in different entries
local shapes = {
  { x = 1 },
  { a = 1, x = 2 },
  { a = 1, b = 2, c = 3, x = 3 },
  { y = 9 },
  {},
}
local out = {}
for round = 1, 3 do
  for i = 1, #shapes do out[#out + 1] = tostring(getx(shapes[i])) end
end
print(table.concat(out, " "))

-- writes to present fields, then to absent ones (which insert)
for i = 1, #shapes do setx(shapes[i], i * 10) end
out = {}
for i = 1, #shapes do out[#out + 1] = tostring(shapes[i].x) end
print(table.concat(out, " "))

-- a field removed, then read (nil) and added back
local t = { a = 1, x = 5, b = 2 }
print(getx(t))
t.x = nil
print(getx(t))
setx(t, 7)
print(getx(t), t.a, t.b)

-- many fields added and removed: entries are compacted and renumbered
local r = { x = 0 }
for i = 1, 200 do r["k" .. i] = i end
for i = 1, 200, 2 do r["k" .. i] = nil end
for i = 201, 400 do r["k" .. i] = i end
print(getx(r), r.k2, r.k3, r.k400)
setx(r, 42)
print(getx(r), r["x"])

-- keys built at run time are the same keys
local key = "x"
local dyn = {}
dyn[key .. ""] = "dynamic"
print(getx(dyn))
setx(dyn, "changed")
print(dyn[key])

-- __index for absent fields; present fields never consult it
local base = { x = "from base", y = "base y" }
local obj = setmetatable({ y = "own y" }, { __index = base })
print(getx(obj), obj.y)
obj.x = "own x"
print(getx(obj), base.x)
obj.x = nil
print(getx(obj))

-- __newindex only for absent fields
local log = {}
local watched = setmetatable({ x = 1 }, {
  __newindex = function(tab, k, v) log[#log + 1] = k .. "=" .. tostring(v); rawset(tab, k, v) end,
})
setx(watched, 2)
print(#log, watched.x)
watched.x = nil
setx(watched, 3)
print(#log, log[1], watched.x)

-- methods through a class chain, many objects, one call site
local Point = {}
Point.__index = Point
function Point.new(x, y) return setmetatable({ x = x, y = y }, Point) end
function Point:len2() return self.x * self.x + self.y * self.y end
local Point3 = setmetatable({}, { __index = Point })
Point3.__index = Point3
function Point3.new(x, y, z) local p = Point.new(x, y); p.z = z; return setmetatable(p, Point3) end
function Point3:len2() return Point.len2(self) + self.z * self.z end
local sum = 0
for i = 1, 300 do
  local p = (i % 3 == 0) and Point3.new(i, 1, 2) or Point.new(i, 2)
  sum = sum + p:len2()
end
print(sum)

-- tables collected and new ones made: caches never see stale entries
local acc = 0
for i = 1, 2000 do
  local tmp = { x = i, pad = {} }
  if i % 2 == 0 then tmp = { q = 1, x = -i } end
  acc = acc + getx(tmp)
end
collectgarbage()
print(acc)
