-- Deep recursion succeeds where Lua's does; runaway recursion is a catchable error;
-- tail calls run in constant space, including through pcall and varargs.
local function depth(n) if n == 0 then return 0 end return 1 + depth(n - 1) end
print(depth(190000))
local ok, err = pcall(depth, 1e7)
print(ok, err)
local function count(n, acc) if n == 0 then return acc end return count(n - 1, acc + 1) end
print(count(3000000, 0))
local function va(n, ...) if n == 0 then return select("#", ...) end return va(n - 1, ...) end
print(va(100000, 1, 2, 3))
print(pcall(count, 100000, 5))
