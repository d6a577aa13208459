-- expect-deopts: 1
-- A write that stayed within the array part while its function was profiled (so the
-- optimized code guards on the bounds) goes past the end later: an append, then a
-- sparse key, then a write into a table with a metatable.
local function scale(t, n, k)
  for i = 1, n do t[i] = (t[i] or 0) * k end
  return #t
end
local t = {}
for i = 1, 20 do t[i] = i end
local sizes = {}
for round = 1, 6 do sizes[#sizes + 1] = scale(t, 20, 2) end
sizes[#sizes + 1] = scale(t, 25, 3)       -- appends t[21..25]
sizes[#sizes + 1] = scale(t, 25, 1)
local sum = 0
for i = 1, #t do sum = sum + t[i] end
print(table.concat(sizes, " "), sum)
local sparse = {}
for i = 1, 10 do sparse[i] = 1 end
for round = 1, 3 do scale(sparse, 10, 2) end
sparse[40] = 5
local function poke(u, i, v) u[i] = v end
for i = 1, 10 do poke(sparse, i, i) end
poke(sparse, 41, 9)                       -- past the end, into the hash part
local logged = {}
local watched = setmetatable({ 1, 2, 3 }, { __newindex = function(u, k, v) logged[#logged + 1] = k; rawset(u, k, v) end })
for i = 1, 3 do poke(watched, i, i * 10) end
poke(watched, 4, 40)                      -- past the end of a table with a metatable
print(sparse[40], sparse[41], #sparse, table.concat(watched, ","), table.concat(logged, ","))
