-- A call's results passed on whole to the next call (`f(g(x))`, `return g(x)`,
-- `print(g(x))`): any number of them, in hot loops that reach optimized code, with
-- garbage collected between the two calls' frames.
local function none() end
local function one(x) return x end
local function three(x) return x, x + 1, x + 2 end
local function many(n) local t = {} for i = 1, n do t[i] = i end return table.unpack(t) end
local function count(...) return select("#", ...) end
local function sum(...) local s = 0 for i = 1, select("#", ...) do s = s + (select(i, ...) or 0) end return s end
local function compose(f, g) return function(x) return f(g(x)) end end

local inc3 = compose(sum, three)
local counted = compose(count, many)
local total = 0
for i = 1, 3000 do
  total = total + inc3(i) + counted(i % 150) + count(none()) + count(one(i)) + sum(three(i))
  if i % 500 == 0 then collectgarbage() end
end
print(total)

-- the number of results changes from call to call at one site
local function varied(i) if i % 3 == 0 then return end if i % 3 == 1 then return i end return i, i, i end
local n = 0
for i = 1, 3000 do n = n + count(varied(i)) end
print(n)

-- results passed on through a tail call that fails, and through pcall
local function boom(x) if x > 2990 then error("boom at " .. x) end return x end
local caught = 0
for i = 1, 3000 do
  local ok, v = pcall(compose(one, boom), i)
  if not ok then caught = caught + 1 end
end
print(caught, select("#", table.unpack({1, 2, 3}, 1, 100)))
print(count(many(200)), sum(many(100)))
