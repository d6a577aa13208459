-- expect-deopts: 1
-- A function called once, entered on the stack at its inner loop: the entry runs a
-- copy of the inner loop for the rest of that loop's run, and a guard of the copy
-- fails when the row's sum turns into a float. The later runs of the inner loop go
-- through the original, nested in the outer loop.
local function f(n, m)
  local s, rows = 0, {}
  for i = 1, n do
    local r = 0
    for j = 1, m do
      if i == 1 and j == m - 3 then r = r + 0.25 end
      r = r + j
    end
    rows[i] = r
    s = s + r
  end
  return s, rows[1], rows[n]
end
print(f(4, 500))
print(f(3, 2000))
