-- Table constructors' positional items, which compiled code appends to the fresh
-- table's array part itself when they fit: fixed items (nil and false among them),
-- a call's results spread at the end (none, one, many, more than the table has room
-- for), keyed fields before and after, and constructors in loops hot enough to be
-- compiled.
local function none() end
local function one() return "a" end
local function many(n) local t = {} for i = 1, n do t[i] = i * i end return table.unpack(t) end
local function show(t)
  local parts = {}
  for i = 1, 12 do parts[#parts + 1] = tostring(t[i]) end
  return table.concat(parts, " ")
end
local function make(k)
  if k == 0 then return { 1, 2, 3 } end
  if k == 1 then return { false, nil, true } end
  if k == 2 then return { 1, none() } end
  if k == 3 then return { 1, one() } end
  if k == 4 then return { 1, many(9) } end
  if k == 5 then return { x = 1, 2, 3, many(2) } end
  if k == 6 then return { 2, 3, y = 4, many(3) } end
  if k == 7 then return { many(0) } end
  return { one(), one(), nil }
end
for round = 1, 300 do
  for k = 0, 8 do make(k) end
end
for k = 0, 8 do
  local t = make(k)
  print(k, show(t), t.x, t.y, select("#", table.unpack(t, 1, 3)))
end
local sum = 0
for i = 1, 2000 do
  local t = { i, i + 1, many(i % 4) }
  sum = sum + t[1] + t[2] + (t[3] or 0) + (t[5] or 0)
end
print("sum", sum)
