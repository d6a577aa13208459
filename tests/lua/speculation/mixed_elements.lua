-- Arrays whose elements share one tag keep bare payloads; a store of another tag (or a
-- nil) makes them mixed, every element with its own tag again. Transitions made by
-- optimized code in hot loops: generic stores, appends of a second tag, constructors
-- with several items (from registers and from a call's results), nils, then tables
-- found uniform again; mixed arrays holding the only references to strings and tables
-- across collections.
local function fill(t, n, f)
  for i = 1, n do t[i] = f(i) end
  return t
end
local function describe(t)
  local parts = {}
  for i = 1, #t do parts[#parts + 1] = math.type(t[i]) or type(t[i]) end
  return table.concat(parts, ",")
end
local function sum(t)
  local s = 0
  for i = 1, #t do s = s + t[i] end
  return s
end
local function set_at(t, i, v) t[i] = v end
local function pair(a, b) return { a, b } end
local function triple(...) return { 0, ... } end
local function several() return 1, "two", 3.0, true end

for round = 1, 40 do
  local t = fill({}, 20, function(i) return i end)
  set_at(t, 5, 5.5)
  if round == 40 then print("float stored", sum(t), describe(t)) end
  set_at(t, 5, 5)
  if round == 40 then print("integer again", sum(t), describe(t)) end
  local u = fill({}, 10, function(i) if i == 7 then return "s" end return i * 1.5 end)
  if round == 40 then print("a string appended", describe(u), u[7]) end
  local p = pair(round, "x")
  local q = pair(true, round + 0.5)
  local r = triple(several())
  if round == 40 then
    print("constructors", describe(p), describe(q), describe(r), r[3], r[5])
  end
  local h = fill({}, 8, function(i) return i end)
  set_at(h, 8, nil)
  set_at(h, 3, nil)
  if round == 40 then print("holes", #h == 8 or #h == 7 or #h == 2, h[2], h[3], h[4]) end
end

-- Uniform again: every element of a mixed array replaced by integers, then read by a
-- loop that checks the tag once.
local w = fill({}, 30, function(i) if i % 2 == 0 then return i + 0.25 end return i end)
print("mixed", describe(w):sub(1, 27))
for i = 1, 30 do w[i] = i * 2 end
for _ = 1, 30 do sum(w) end
print("uniform", sum(w), describe(w):sub(1, 23))

-- Mixed arrays hold the only references to fresh strings and tables across
-- collections; uniform arrays of tables and of strings too.
local keep = {}
for i = 1, 200 do
  if i % 3 == 0 then keep[i] = { i } elseif i % 3 == 1 then keep[i] = "s" .. i else keep[i] = i end
end
local tabs = fill({}, 100, function(i) return { i * 2 } end)
local strs = fill({}, 100, function(i) return "v" .. i end)
collectgarbage()
collectgarbage()
local junk = {}
for i = 1, 2000 do junk[i] = { i, tostring(i) } end
collectgarbage()
local total = 0
for i = 3, 200, 3 do total = total + keep[i][1] end
print("kept", total, keep[100], keep[200], tabs[100][1], strs[57])

-- Growth keeps the tags of mixed elements; a sort moves mixed values about.
local g = {}
for i = 1, 1000 do if i % 10 == 0 then g[i] = tostring(i) else g[i] = i end end
print("grown", g[10], g[999], g[1000], math.type(g[999]), #g)
local s = { 3, 1.5, 2, 0.5, 4 }
table.sort(s)
print("sorted", describe(s), s[1], s[5])
table.insert(s, 1, "first")
table.insert(s, true)
print("inserted", describe(s))
print("removed", table.remove(s, 1), table.remove(s), describe(s))
