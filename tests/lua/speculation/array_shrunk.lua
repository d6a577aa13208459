-- An array shrinks (and grows) inside the loop that reads it by index.
local t = {}
for i = 1, 100 do t[i] = i end
local s, missing = 0, 0
for i = 1, #t do
  if i == 50 then for j = #t, 60, -1 do t[j] = nil end end
  local v = t[i]
  if v then s = s + v else missing = missing + 1 end
end
print(s, missing, #t)
local u = { 1, 2, 3 }
local acc = 0
for i = 1, 10 do
  acc = acc + (u[i] or 100)
  if i == 2 then u[#u + 1] = 7 end
end
print(acc, #u)
