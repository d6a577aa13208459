-- Control flow shapes that stress SSA construction: breaks out of nested loops,
-- variables changed on some paths only, closures capturing loop variables,
-- repeat-until conditions that read body locals, and code after break/return.
local function f(n)
  local a, b, c = 0, 1, "x"
  for i = 1, n do
    if i % 3 == 0 then a = a + i elseif i % 3 == 1 then b = b * 2 else c = c .. i end
    if b > 1000 then break end
  end
  return a, b, c
end
print(f(20))
local fns = {}
for i = 1, 3 do
  local j = i * 10
  fns[i] = function() j = j + 1 return i + j end
end
print(fns[1](), fns[1](), fns[2](), fns[3]())
local k = 0
repeat
  local done = k >= 4
  k = k + 1
until done
print(k)
local function g(x)
  while true do
    if x > 10 then return x end
    x = x * 2
  end
end
print(g(3))
local found
for i = 1, 10 do
  for j = 1, 10 do
    if i * j == 42 then found = i .. "x" .. j break end
  end
  if found then break end
end
print(found)
local t = {}
for i = 10, 1, -3 do t[#t + 1] = i end
for x = 1.0, 2.0, 0.25 do t[#t + 1] = x end
print(table.concat(t, " "))
