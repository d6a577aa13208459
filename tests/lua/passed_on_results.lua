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

-- results passed on after fixed operands: `{ a, b, f() }` (setlist), `g(a, f())`,
-- `return a, f()`, chained, with many results, and with garbage collected in between
local function pair(x) return x, x + 1 end
local function with_head(x) return x, many(x % 40) end
local fixed_total = 0
for i = 1, 3000 do
  local a = { pair(i) }
  local b = { i, i, three(i) }
  local c = { 1, 2, 3, none() }
  local d = { i, many(i % 60) }
  local e = { count(1, 2, count(three(i))) }
  local g = { pair(i), pair(i + 1) }
  local h = table.pack(with_head(i))
  if i % 700 == 0 then collectgarbage() end
  fixed_total = fixed_total + #a + #b + #c + #d + #e + #g + h.n + a[2] + b[5] + e[#e] + g[3] + sum(i, pair(i))
end
print(fixed_total)
