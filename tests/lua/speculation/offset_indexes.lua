-- expect-deopts: 2
-- Array reads at a loop variable plus a constant (`t[j + 1]`, `t[i - 1]`), whose
-- bounds optimized code checks once before the loop: each function is compiled for
-- reads within the array, then given a loop that reads past its end, and one that
-- reads at 0; the check before the loop fails and the interpreter runs it (reading
-- nil there).
local function next_sum(t, k)
  local n = 0
  for j = 0, k - 1 do n = n + (t[j + 1] or 0) end
  return n
end

local function prev_sum(t, first, last)
  local n = 0
  for i = first, last do n = n + (t[i - 1] or 100) end
  return n
end

local t = {}
for i = 1, 50 do t[i] = i end
for _ = 1, 30 do next_sum(t, 50) end
print("within", next_sum(t, 50), next_sum(t, 10))
print("past the end", next_sum(t, 53))
for _ = 1, 30 do prev_sum(t, 2, 51) end
print("within", prev_sum(t, 2, 51))
print("at 0", prev_sum(t, 1, 5))
print("past the end", prev_sum(t, 50, 53))
