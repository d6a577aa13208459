-- expect-deopts: 2
-- Checks moved out of a loop (the table guard, and the range of i against the array
-- part's length) fail before the loop starts: once when the loop runs past the end
-- of the array, once when the "table" is a string.
local function sum_to(t, n)
  local s = 0
  for i = 1, n do
    local v = t[i]
    if v then s = s + v end
  end
  return s
end
local function count_to(t, n)
  local c = 0
  for i = 1, n do
    if t[i] ~= nil then c = c + 1 end
  end
  return c
end
local a = {}
for i = 1, 10 do a[i] = i end
local total = 0
for r = 1, 50 do total = total + sum_to(a, 10) + count_to(a, 10) end
print(total)
print(sum_to(a, 15))     -- t[11] .. t[15] are nil
print(count_to("abc", 3)) -- ("abc")[i] is nil
for r = 1, 50 do total = total + sum_to(a, r % 12) + count_to(a, r % 12) end
print(total, sum_to(a, 0), count_to({}, 5))
