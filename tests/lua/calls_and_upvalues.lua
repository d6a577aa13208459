-- Calls between compiled functions and upvalue reads: missing and extra arguments,
-- vararg callees, callees that tail-call or fail, and closures with few and many cells.

local function three(a, b, c) return a, b, c end
print(three(1))
print(three(1, 2, 3, 4, 5))
print((three()))

local function count(...) return select('#', ...), ... end
print(count())
print(count(nil, nil))
print(count(1, 2, 3))

-- a callee whose body ends in a tail call, to another function and to a native
local function leaf(x) return x * 2 end
local function via_tail(x) return leaf(x + 1) end
local function via_native(x) return tostring(x) end
local s = 0
for i = 1, 2000 do s = s + via_tail(i) end
print(s, via_native(12), type(via_native(1.5)))

-- errors raised in a callee reach the caller's pcall with their position
local function fails(x)
  if x > 3 then error("too big: " .. x) end
  return x
end
local function calls_fails(n)
  local t = 0
  for i = 1, n do t = t + fails(i) end
  return t
end
print(pcall(calls_fails, 3))
print(pcall(calls_fails, 5))
print(pcall(function() local t = nil; return t.x end))

-- closures with one to five captured variables, read and written from inside
local function make(n)
  local a, b, c, d, e = 1, 2, 3, 4, 5
  if n == 1 then return function(k) a = a + k; return a end end
  if n == 2 then return function(k) a = a + k; b = b * 2; return a + b end end
  if n == 3 then return function(k) a = a + k; c = c - 1; return a + b + c end end
  if n == 4 then return function(k) d = d + k; return a + b + c + d end end
  return function(k) e = e + k; a = a - 1; return a + b + c + d + e end
end
for n = 1, 5 do
  local f = make(n)
  local last
  for i = 1, 100 do last = f(i) end
  print(n, last)
end

-- shared cells: two closures over the same variables
local function pair()
  local x, y, z, w = 0, 0, 0, 0
  local function bump() x = x + 1; y = y + 2; z = z + 3; w = w + 4 end
  local function sum() return x + y + z + w end
  return bump, sum
end
local bump, sum = pair()
for _ = 1, 10 do bump() end
print(sum())

-- recursion through upvalues and a counter upvalue, as fib does
local calls = 0
local function fib(n)
  calls = calls + 1
  if n < 2 then return n end
  return fib(n - 1) + fib(n - 2)
end
print(fib(20), calls)

-- deep recursion through the call path still ends in Lua's error
local function deep(n) return 1 + deep(n + 1) end
local ok, msg = pcall(deep, 1)
print(ok, string.find(msg, "stack overflow", 1, true) ~= nil)
