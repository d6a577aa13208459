-- expect-deopts: 2
-- Call sites that have called closures of two (then three) functions, optimized into
-- tests choosing between them, each inlined: then another function arrives at each, a
-- callable table, methods of a third and a fourth class, and a replaced method.
local function reduce(t, f, acc)
  for i = 1, #t do acc = f(acc, t[i]) end
  return acc
end
local function add(a, x) return a + x end
local function biggest(a, x) if x > a then return x end return a end

local t = {}
for i = 1, 60 do t[i] = (i * 37) % 101 end
for round = 1, 4 do reduce(t, add, 0); reduce(t, biggest, 0) end
print("two", reduce(t, add, 0), reduce(t, biggest, 0))
print("a third", reduce(t, function(a, x) return a * 3 % 1000 + x end, 1))
print("callable", reduce(t, setmetatable({}, { __call = function(_, a, x) return a - x end }), 0))
print("again", reduce(t, add, 0.5), reduce(t, biggest, -1))

local Square = {}
Square.__index = Square
function Square.new(s) return setmetatable({ s = s }, Square) end
function Square:area() return self.s * self.s end
local Circle = {}
Circle.__index = Circle
function Circle.new(r) return setmetatable({ r = r }, Circle) end
function Circle:area() return 3 * self.r * self.r end
local Tri = {}
Tri.__index = Tri
function Tri.new(b, h) return setmetatable({ b = b, h = h }, Tri) end
function Tri:area() return self.b * self.h // 2 end

local function total(shapes)
  local sum = 0
  for i = 1, #shapes do sum = sum + shapes[i]:area() end
  return sum
end
local shapes = {}
for i = 1, 40 do shapes[i] = i % 2 == 0 and Square.new(i) or Circle.new(i) end
for round = 1, 4 do total(shapes) end
print("shapes", total(shapes))
shapes[7] = Tri.new(6, 5)
print("a triangle", total(shapes))
for round = 1, 4 do total(shapes) end
local Hex = {}
Hex.__index = Hex
function Hex.new(a) return setmetatable({ a = a }, Hex) end
function Hex:area() return 6 * self.a end
shapes[9] = Hex.new(4)
print("a hexagon", total(shapes))
Circle.area = function(self) return self.r end
print("method replaced", total(shapes))
