-- expect-deopts: 1
-- Inlined tail calls and calls whose results are passed on (`f(g(x))`): the inlined
-- bodies meet new types, the captured variables they read change, and the functions
-- themselves are replaced while the loops run.
local function compose(f, g) return function(x) return f(g(x)) end end
local function adder(k) return function(x) return x + k end end
local function scaler(k) return function(x) return x * k end end

local h = compose(adder(1), scaler(3))
local s = 0
for i = 1, 30 do s = s + h(i) end
print("ints", s)
print("float", h(2.5), "string", h("4"))

local k = 10
local function addk(x) return x + k end
local function twice(x) return addk(addk(x)) end
local t = 0
for i = 1, 40 do
  t = t + twice(i)
  if i == 20 then k = 0.5 end
end
print("captured", t)

local step = function(x) return x + 1 end
local function walk(x) return step(x) end
local u = 0
for i = 1, 40 do
  u = u + walk(i)
  if i == 25 then step = function(x) return x * 2 end end
end
print("replaced", u)

local function pair(x) return x, x + 1 end
local function sum2(a, b) return a + (b or 0) end
local function use(x) return sum2(pair(x)) end
local w = 0
for i = 1, 30 do w = w + use(i) end
print("two results", w)
