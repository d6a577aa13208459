-- Recursion through metamethods and pcall nests native frames: bounded like Lua's
-- C calls (an error, never a crash).
local t = setmetatable({}, {__index = function(t, k) if k == 0 then return 0 end return t[k-1] + 1 end})
print(pcall(function() return t[150] end))
print(pcall(function() return t[150000] end))
local function nest(n) if n == 0 then return "bottom" end return select(2, pcall(nest, n - 1)) end
print(nest(100))
print(nest(300))
