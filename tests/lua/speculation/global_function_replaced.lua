-- expect-deopts: 1
-- A hot global function is replaced in the middle of the loop that calls it.
function f(x) return x + 1 end
local s = 0
for i = 1, 300 do
  if i == 150 then f = function(x) return x * 2 end end
  s = s + f(i)
end
print(s)
local g = function(x) return x - 1 end
local function apply(h, x) return h(x) end
local total = 0
for i = 1, 100 do total = total + apply(i < 60 and g or f, i) end
print(total)
