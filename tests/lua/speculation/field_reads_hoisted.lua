-- expect-deopts: 1
-- Loops that store into some fields of tables and read others: a read of a field
-- whose key no store in the loop has is made once, before the loop, in whichever
-- table it is (even the table the loop stores into); a read of a key the loop stores
-- (through another name for the same table) stays in the loop. Then the hoisted
-- field disappears and comes back a float, between calls: the check before the loop
-- fails once (the code made next reads the field in the loop).
local function accumulate(t, u, n)
  for i = 1, n do
    t.sum = t.sum + u.step
  end
  return t.sum
end

local function bump(t, u, n)
  local seen = 0
  for i = 1, n do
    t.step = t.step + 1
    seen = seen + u.step
  end
  return seen
end

local a, b = { sum = 0 }, { step = 3 }
for _ = 1, 50 do accumulate(a, b, 20) end
print("separate", a.sum)
local c = { sum = 0, step = 2 }
print("same table", accumulate(c, c, 100))
print("stores through another name", bump(c, c, 100), c.step)
b.step = nil
print("no step", pcall(accumulate, a, b, 10))
b.step = 0.5
print("float step", accumulate(a, b, 10))
for _ = 1, 50 do accumulate(a, { step = 1 }, 20) end
print("after", a.sum)
