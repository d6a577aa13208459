-- expect-deopts: 3
-- Loops stepping by a value they do not change, whose array reads optimized code
-- checks once before the loop: steps of 1, 3 and a step larger than the array, a
-- loop running past the end of its array (the check before it fails, the reads inside
-- run in the interpreter and give nil), a negative step after the function was
-- compiled for positive ones, and steps past 2^31 (the checks before the loop bound
-- the step so that its product with the count cannot overflow).
-- Three copies of one loop, each compiled for positive steps that fit, then given
-- what the checks before its loop must catch.
local function strided(t, first, last, step)
  local n = 0
  for j = first, last, step do n = n + (t[j] or 0) end
  return n
end
local function strided_down(t, first, last, step)
  local n = 0
  for j = first, last, step do n = n + (t[j] or 0) end
  return n
end
local function strided_far(t, first, last, step)
  local n = 0
  for j = first, last, step do n = n + (t[j] or 0) end
  return n
end

local t = {}
for i = 1, 100 do t[i] = i end
for round = 1, 3 do strided(t, 1, 100, 7); strided_down(t, 1, 100, 7); strided_far(t, 1, 100, 7) end
print("steps", strided(t, 1, 100, 1), strided(t, 1, 100, 3), strided(t, 5, 100, 500))
print("negative step", strided_down(t, 100, 1, -9))
print("huge step", strided_far(t, 1, 100, 1 << 40), strided_far(t, 3, 100, 1 << 31))
print("past the end", strided(t, 90, 130, 4), strided(t, 1, 100, 3))
print("empty", strided(t, 50, 10, 2), strided({}, 1, 10, 2))

-- The sieve's pattern: an inner loop stepping by the outer loop's variable.
local flags = {}
local function sieve(limit)
  for i = 1, limit do flags[i] = true end
  local i = 2
  while i * i <= limit do
    if flags[i] then
      for j = i * i, limit, i do flags[j] = false end
    end
    i = i + 1
  end
  local count = 0
  for k = 2, limit do if flags[k] then count = count + 1 end end
  return count
end
print("primes", sieve(1000), sieve(5000), sieve(30))
