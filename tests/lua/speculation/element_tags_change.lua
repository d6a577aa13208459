-- expect-deopts: 6
-- Array accesses compiled for tables whose elements all have one tag (checked once
-- per loop, `guard.elems`), then given tables whose elements differ: an integer among
-- floats before the loop, one stored by the loop itself, a hole, floats appended to
-- integers, floats written over integers, a number among booleans. Each check fails
-- and the interpreter goes on with the tags.
local function sum(t)
  local s = 0.0
  for i = 1, #t do s = s + t[i] end
  return s
end

local function sum_storing(t, at)
  local s = 0.0
  for i = 1, #t do
    s = s + t[i]
    if i == at then t[i + 1] = 1 end
  end
  return s
end

local function scale(t, k)
  for i = 1, #t do t[i] = t[i] * k end
  return t[#t]
end

local function count(t, n)
  local c = 0
  for i = 1, n do c = c + (t[i] or 100) end
  return c
end

local function extend(t, n)
  local first = #t + 1
  for i = first, first + n - 1 do t[i] = i * 0.5 end
  return #t
end

local floats = {}
for i = 1, 40 do floats[i] = i * 0.25 end
for _ = 1, 30 do sum(floats) end
print("floats", sum(floats))
floats[7] = 7
print("an integer among them", sum(floats), math.type(floats[7]))

local g = {}
for i = 1, 40 do g[i] = i + 0.5 end
for _ = 1, 30 do sum_storing(g, 0) end
print("stored in the loop", sum_storing(g, 10), math.type(g[11]))

local h = {}
for i = 1, 20 do h[i] = i / 4 end
for _ = 1, 30 do scale(h, 1.0) end
h[3] = 3
print("scaled", scale(h, 2.0), math.type(h[3]), h[3])

local ints = {}
for i = 1, 30 do ints[i] = i end
for _ = 1, 30 do count(ints, 30) end
ints[5] = nil
print("a hole", count(ints, 30))

for _ = 1, 30 do extend({}, 10) end
local mixed = { 1, 2, 3 }
print("appended to integers", extend(mixed, 5), math.type(mixed[2]), math.type(mixed[6]))

local function marks(t, n)
  for i = 1, n do t[i] = false end
  for i = 2, n, 2 do t[i] = true end
  local c = 0
  for i = 1, n do if t[i] then c = c + 1 end end
  return c
end
local flags = {}
for _ = 1, 30 do marks(flags, 50) end
print("booleans", marks(flags, 50))
flags[60] = 0
for i = 51, 59 do flags[i] = true end
print("a number among them", marks(flags, 60), flags[60])

-- Integers written over with floats by generic code: the table no longer knows one
-- tag, but a look at its elements finds floats again.
local w = {}
for i = 1, 25 do w[i] = i end
for i = 1, 25 do w[i] = w[i] + 0.5 end
print("written over", sum(w))
-- Emptied and filled again with integers.
local e = { 1.5 }
e[1] = nil
for i = 1, 10 do e[i] = i end
print("refilled", count(e, 10))
