-- expect-deopts: 3
-- Closures that call the closures they captured, inlined with them into a caller's
-- loop (one level of nesting): then an element turns into a float, a captured
-- closure is replaced by another function, and then by a callable table.
local function compose(f, g) return function(x) return f(g(x)) end end
local function adder(k) return function(x) return x + k end end
local function scaler(k) return function(x) return x * k end end

local function map_sum(t, f)
  local s = 0
  for i = 1, #t do s = s + f(t[i]) end
  return s
end

local t = {}
for i = 1, 50 do t[i] = i end
local h = compose(adder(1), scaler(3))
for round = 1, 5 do map_sum(t, h) end
print("composed", map_sum(t, h))
t[25] = 2.5
print("a float", map_sum(t, h))
t[25] = 25

local inner = scaler(3)
local function around(x) return inner(x) + inner(1) end
local function map_sum2(t, f)
  local s = 0
  for i = 1, #t do s = s + f(t[i]) end
  return s
end
for round = 1, 5 do map_sum2(t, around) end
print("captured", map_sum2(t, around))
inner = adder(10)
print("replaced", map_sum2(t, around))
inner = setmetatable({}, { __call = function(_, x) return x * 100 end })
print("callable table", map_sum2(t, around))
