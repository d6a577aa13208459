-- expect-deopts: 1
-- Appends in optimized code, which makes those that fit the array part inline: into
-- fresh tables growing past their room, into tables with keys in the hash part
-- (beyond the end, which an append moves over, and not), of nil, and into tables
-- given a metatable after the function was compiled.
local function fill(t, from, to, v)
  for i = from, to do t[i] = v or i end
  return #t
end
local function show(t, n)
  local parts = {}
  for i = 1, n do parts[#parts + 1] = tostring(t[i]) end
  return table.concat(parts, ",")
end
for round = 1, 4 do fill({}, 1, 40) end
print("fresh", fill({}, 1, 100), fill({ 1, 2, 3 }, 4, 9))

local hashed = { x = 1 }
print("with a string key", fill(hashed, 1, 12), hashed.x)

local beyond = {}
beyond[6] = "six"; beyond[7] = "seven"
print("keys beyond", fill(beyond, 1, 5), #beyond, beyond[6], beyond[8])

local holes = {}
print("false appended", fill(holes, 1, 5), fill(holes, 6, 8, false), show(holes, 9))
local function put(t, i, v) t[i] = v; return rawget(t, i) end
for round = 1, 4 do local u = {} for i = 1, 30 do put(u, i, i) end end
local p = {}
print("nil appended", put(p, 1, nil), next(p), put(p, 1, 1), put(p, 2, nil), put(p, 3, 3), put(p, 2, 2), show(p, 4))
local nils = {}
for i = 1, 6 do nils[i] = (i % 2 == 0) and i or nil end
print("nil values", #nils >= 0, show(nils, 6))

local logged = {}
local watched = setmetatable({}, { __newindex = function(u, k, v) logged[#logged + 1] = k; rawset(u, k, v) end })
print("metatable", fill(watched, 1, 4), table.concat(logged, ","))
local index = setmetatable({}, { __index = function(_, k) return -k end })
print("__index only", fill(index, 1, 3), index[5])

local big = {}
for i = 1, 3000 do big[i] = i * 2 end
local sum = 0
for i = 1, #big do sum = sum + big[i] end
print("big", #big, sum)

-- A table held in an upvalue, filled in a loop whose appends call the runtime: it
-- gets a metatable between calls, and is replaced by another table.
local held = {}
local function refill(n)
  for i = 1, n do held[i] = i * 3 end
  return #held
end
for round = 1, 3 do refill(10) end
local seen = {}
setmetatable(held, { __newindex = function(t, k, v) seen[#seen + 1] = k; rawset(t, k, v) end })
print("held", refill(12), table.concat(seen, ","))
held = { 1 }
print("replaced", refill(5), held[5])
