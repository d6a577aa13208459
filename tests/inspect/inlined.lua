-- A call inlined in the middle of a loop's block: the block is split there, and the
-- snapshots of the speculations after it still resume in the generic block.
local function term(i, j) return i * 10 + j end
local function row(i, n)
  local s = 0
  for j = 1, n do s = s + term(i, j) * j end
  return s
end
local total = 0
for i = 1, 30 do total = total + row(i, 20) end
print(total)
