-- An array sum for orc-inspect's golden tests: with a profile run, type_spec speculates
-- the loop's index and addition, and bce removes the bounds checks.
local function sum(t)
  local s = 0
  for i = 1, #t do s = s + t[i] end
  return s
end
local t = {}
for i = 1, 100 do t[i] = i end
print(sum(t))
