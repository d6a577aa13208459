-- Functions with the same code (names, lines and variable names aside) share their
-- machine code; their errors still name their own lines and variables.
local function a(x) return x + 1 end
local function b(x) return x + 2 end

local function c(y) return y + 1 end
print(a(1), b(1), c(5))
print(pcall(a, nil))
print(pcall(c, nil))
print(pcall(c, {}))
print(pcall(a, "x"))
for i = 1, 3000 do
  local v = (i % 2 == 0) and a(i) or c(i + 0.5)
  if i > 2995 then print(v) end
end
print(pcall(c, "no"))
