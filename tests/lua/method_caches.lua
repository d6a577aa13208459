-- Lookups that miss the table itself and go on through `__index` tables, which
-- compiled code caches per site by the table's metatable: every change to a table on
-- the chain (a method replaced, added, removed; `__index` or a metatable changed; a
-- metatable collected and another made) must be seen at once.

local function class(parent)
  local c = {}
  c.__index = c
  if parent then setmetatable(c, { __index = parent }) end
  return c
end

local Base = class()
function Base:name() return "base" end
function Base:size() return 1 end
local Mid = class(Base)
function Mid:size() return 2 end
local Leaf = class(Mid)

local function call_name(o) return o:name() end
local function call_size(o) return o:size() end
local function field(o) return o.label end

-- one site, more metatables than a cache has ways
local kinds = {}
for i = 1, 6 do
  local c = class(i % 2 == 0 and Mid or Base)
  c.label = "k" .. i
  kinds[i] = setmetatable({}, c)
end
local out = {}
for round = 1, 300 do
  local o = kinds[round % 6 + 1]
  if round > 294 then out[#out + 1] = field(o) .. ":" .. call_size(o) end
end
print(table.concat(out, " "))

-- methods replaced, added and removed along the chain while a loop runs
local o = setmetatable({}, Leaf)
local trace = {}
for i = 1, 400 do
  if i == 50 then function Base:name() return "base2" end end
  if i == 100 then function Mid:name() return "mid" end end
  if i == 150 then function Leaf:name() return "leaf" end end
  if i == 200 then Leaf.name = nil end
  if i == 250 then rawset(Mid, "name", nil) end
  if i == 300 then o.name = function() return "own" end end
  if i == 350 then o.name = nil end
  local n = call_name(o)
  if trace[#trace] ~= n then trace[#trace + 1] = n end
end
print(table.concat(trace, " "))

-- __index retargeted, turned into a function, and a metatable of the chain replaced
local A, B = class(), class()
function A:who() return "A" end
function B:who() return "B" end
local C = class(A)
local p = setmetatable({}, C)
trace = {}
for i = 1, 400 do
  if i == 80 then getmetatable(C).__index = B end
  if i == 160 then getmetatable(C).__index = function(_, k) return function() return "fn:" .. k end end end
  if i == 240 then setmetatable(C, { __index = A }) end
  if i == 320 then C.__index = B end
  local w = p:who()
  if trace[#trace] ~= w then trace[#trace + 1] = w end
end
print(table.concat(trace, " "))

-- a missing field (nil all the way) that appears later in the base class
local q = setmetatable({}, Leaf)
local seen = {}
for i = 1, 200 do
  if i == 120 then Base.extra = i end
  local e = q.extra
  seen[#seen + 1] = e == nil and "-" or tostring(e)
end
print(seen[1], seen[119], seen[120], seen[200])

-- a counter kept in a class and read through instances, written every iteration
local Counter = class()
Counter.count = 0
local inst = setmetatable({}, Counter)
local sum = 0
for i = 1, 500 do
  Counter.count = Counter.count + 1
  sum = sum + inst.count
end
print(sum, inst.count)

-- fresh classes made and dropped while one site looks methods up through them
local total = 0
for i = 1, 300 do
  local K = class()
  local v = i
  function K.id() return v end
  total = total + setmetatable({}, K).id()
  if i % 25 == 0 then collectgarbage() end
end
print(total)

-- An object that gets (and loses) a field of the method's name shadows the cached
-- answer at once: its key summary no longer proves the key absent.
do
  local C = {} C.__index = C
  function C:m() return 1 end
  local objs = {}
  for i = 1, 50 do objs[i] = setmetatable({id = i}, C) end
  local s = 0
  for round = 1, 400 do
    for i = 1, #objs do s = s + objs[i]:m() end
    if round == 200 then objs[7].m = function() return 100 end end
    if round == 300 then objs[7].m = nil end
    if round == 350 then C.m = function() return 3 end end
  end
  print("shadowed", s)
end
