-- Recursion without end ends in a "stack overflow" error that pcall catches, in every
-- tier; deep recursion that ends (150,000 calls) runs; the program goes on afterwards.
local function down(n) return down(n + 1) + 1 end
print(pcall(down, 1))

local function depth(n) if n == 0 then return 0 end return 1 + depth(n - 1) end
print(pcall(depth, 150000))

-- Through a metamethod: __index calls itself for every missing key.
local t = setmetatable({}, {})
getmetatable(t).__index = function(self, k) return self[k .. "x"] end
local ok, e = pcall(function() return t.a end)
print(ok, e)

-- Through __add.
local v = setmetatable({}, {})
getmetatable(v).__add = function(a, b) return a + b end
print(pcall(function() return v + 1 end))

-- Mutual recursion, and recursion through pcall itself (where the cycle is cut and
-- which limit is met, Lua's stack or its C stack, differ between implementations).
local even, odd
function even(n) return odd(n + 1) + 0 end
function odd(n) return even(n + 1) + 0 end
local ok2, e2 = pcall(even, 0)
print(ok2, (string.find(e2, "stack overflow", 1, true)) ~= nil)
local function nest(n)
  local ok3, e3 = pcall(nest, n + 1)
  return e3
end
print((string.find(nest(1), "stack overflow", 1, true)) ~= nil)

-- The stack is usable again afterwards.
print(depth(1000))
