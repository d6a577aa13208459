-- expect-deopts: 2
-- Methods that store into their object, inlined into the loop that calls them (a body
-- may store when nothing after its store can fail). In the middle of a run, one
-- object's field turns into a float: the check the inlined body makes before its
-- store fails, and the interpreter runs that call again from its start, so the store
-- is made once. Then one stored value is a float: the store succeeds, the caller's
-- check of the call's result fails after it, and the interpreter goes on after the
-- call, without storing again. Last, `double(take(o))`: `take` stores and its result
-- goes straight to `double`, whose check fails for one object; the interpreter must
-- not run `take` again (so `double` is not inlined after a body that stores).
local Counter = {}
Counter.__index = Counter
function Counter.new() return setmetatable({ n = 0, last = 0 }, Counter) end
function Counter:add(d)
  self.n = self.n + d
  return self.n
end
function Counter:put(v)
  self.last = v
  return v
end

local function add_all(objs, d)
  local s = 0
  for i = 1, #objs do s = s + objs[i]:add(d) end
  return s
end

local function put_all(objs, vals)
  local s = 0
  for i = 1, #objs do s = s + objs[i]:put(vals[i]) end
  return s
end

local objs, vals = {}, {}
for i = 1, 300 do
  objs[i] = Counter.new()
  vals[i] = i
end
for _ = 1, 20 do add_all(objs, 1) end
objs[150].n = 0.5
print("float field", add_all(objs, 1), objs[149].n, objs[150].n, objs[151].n)
for _ = 1, 20 do put_all(objs, vals) end
vals[200] = 0.25
print("float value", put_all(objs, vals), objs[199].last, objs[200].last, objs[201].last)

local function take(o)
  local v = o.last
  o.n = o.n + 1
  return v
end
local function double(x) return x * 2 end
local function take_all(objs)
  local s = 0
  for i = 1, #objs do s = s + double(take(objs[i])) end
  return s
end
local fresh = {}
for i = 1, 300 do
  fresh[i] = Counter.new()
  fresh[i].last = i
end
for _ = 1, 20 do take_all(fresh) end
fresh[120].last = 0.5
print("passed on", take_all(fresh), fresh[119].n, fresh[120].n, fresh[121].n)
