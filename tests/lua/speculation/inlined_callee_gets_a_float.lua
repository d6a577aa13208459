-- expect-deopts: 1
-- A small function inlined into a loop (its body speculated on the ints it saw) is
-- called with a float in the middle of the loop: a guard of the inlined body fails,
-- and the interpreter performs the whole call again.
local function sq(x) return x * x + 1 end
local function run(n, at)
  local s = 0
  for i = 1, n do
    local v = i
    if i == at then v = i + 0.5 end
    s = s + sq(v)
  end
  return s
end
print(run(100, 200))
print(run(100, 50))
print(run(1000, 999))
print(run(10, 3))
