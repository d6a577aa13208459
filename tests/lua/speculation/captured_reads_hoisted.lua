-- Loops calling closures inlined into them: the cell a closure captured is read
-- before the loop, and so is the variable in it when nothing in the loop may store
-- to a cell. Here a call in the loop changes the captured variable halfway (its
-- value is read on every trip then), a local holding the closure is given another
-- closure of the same function halfway (with another cell), and a loop without
-- calls reads the variable once.
local function make(k) return function(x) return x + k end end

local k = 1
local function addk(x) return x + k end
local function setk(v) k = v end

local function changed_by_a_call(n)
  local s = 0
  for i = 1, n do
    s = s + addk(i)
    if i == n // 2 then setk(100) end
  end
  return s
end

local function closure_replaced(n)
  local f, s = make(1), 0
  for i = 1, n do
    s = s + f(i)
    if i == n // 2 then f = make(1000) end
  end
  return s
end

local function read_once(f, n)
  local s = 0
  for i = 1, n do s = s + f(i) end
  return s
end

print("changed by a call", changed_by_a_call(3000), k)
k = 1
print("again", changed_by_a_call(3000), k)
print("closure replaced", closure_replaced(3000))
print("read once", read_once(make(5), 3000), read_once(make(-5), 3000))
