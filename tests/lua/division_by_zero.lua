-- Integer division and modulo by zero are errors; float ones give inf or nan.
local zero, one = 0, 1
print(pcall(function() return one // zero end))
print(pcall(function() return one % zero end))
print(pcall(function() return 7 // 0 end))
print(pcall(function() return 7 % 0 end))
print(pcall(function() return math.mininteger // zero end))
print(1 / 0, -1 / 0, 1 // 0.0, -1 // 0.0, 1.0 // 0)
print(0/0 ~= 0/0, 1 % math.huge, -1 % math.huge, 1 % -math.huge)
print(math.mininteger // -1, math.mininteger % -1, math.maxinteger // -1)
print(5 // -2, -5 // 2, 5 % -2, -5 % 2, 5.5 // -2, -5.5 % 2)
print(pcall(function() return "6" // "0" end))
print(pcall(function() return "6" // "0.0" end))
-- In a loop whose divisor becomes zero part-way (after any tier-up).
local results = {}
for i = 5, -1, -1 do
  local ok, r = pcall(function() return 100 // i end)
  results[#results + 1] = ok and tostring(r) or "error"
end
print(table.concat(results, " "))
local s = 0
for i = 1, 300 do s = s + 1000 // (i % 7 + 1) end
print(s)
