-- For orc-inspect's test of a profile run under a policy: under optimize-now, `add`
-- is optimized after its first call for integers, and the float deoptimizes it.
local function add(a, b) return a + b end
local s = 0
for i = 1, 10 do s = add(s, i) end
print(s, add(1.5, 2))
