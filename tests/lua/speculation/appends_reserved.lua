-- Loops appending at their variable (`r[i] = ...`), whose optimized code reserves the
-- room the last trip needs before the loop starts: a loop that breaks early out of a
-- huge range (the reservation is capped), ranges starting below 1 or past the end
-- (the appends fail and the keys go to the hash part), an offset index, a small table
-- built by a constructor, a table whose array part already has room, and one given a
-- metatable part-way.
local function copy(src, from, to, r)
  r = r or {}
  for i = from, to do r[i] = src[i] end
  return r
end
local function count_keys(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n
end

local src = {}
for i = 1, 50 do src[i] = i * 3 end
for round = 1, 5 do copy(src, 1, 50) end
local r = copy(src, 1, 50)
print("copied", #r, r[1], r[50], count_keys(r))

local function until_big(limit)
  local t = {}
  for i = 1, math.maxinteger do
    t[i] = i
    if i >= limit then break end
  end
  return t
end
for round = 1, 5 do until_big(10) end
local big = until_big(70000)
print("early break", #big, big[3000], count_keys(big))

local low = copy(src, -3, 4)
print("from below 1", #low, low[-3], low[0], low[1], low[4], count_keys(low))
local gap = copy(src, 5, 9)
print("past the end", #gap, gap[5], gap[9], count_keys(gap))

local function shifted(n)
  local t = {}
  for j = 0, n - 1 do t[j + 1] = j * 0.5 end
  return t
end
for round = 1, 5 do shifted(8) end
local s = shifted(100)
print("offset index", #s, s[1], s[100])

local small = copy(src, 3, 40, { "a", "b" })
print("constructor", #small, small[1], small[2], small[3], small[40])
local roomy = copy(src, 1, 10, copy(src, 1, 40))
print("already room", #roomy, roomy[10], roomy[40])

local watched = {}
local log = 0
local function fill_watched(t, n)
  for i = 1, n do
    t[i] = i
    if i == 20 then
      setmetatable(t, { __newindex = function(tt, k, v) log = log + 1; rawset(tt, k, -v) end })
    end
  end
  return t
end
for round = 1, 5 do fill_watched({}, 10) end
fill_watched(watched, 30)
print("metatable part-way", #watched, watched[20], watched[21], watched[30], log)
