-- expect-deopts: 1
-- Method calls through __index, with the metatable (and its __index) changed mid-loop.
local A = {}
A.__index = A
function A:get() return self.v end
local B = {}
B.__index = B
function B:get() return self.v * 10 end
local o = setmetatable({ v = 3 }, A)
local s = 0
for i = 1, 200 do
  if i == 100 then setmetatable(o, B) end
  if i == 150 then B.get = function(self) return -self.v end end
  s = s + o:get()
end
print(s)
local C = setmetatable({}, { __index = function(_, k) return k .. "!" end })
local parts = {}
for i = 1, 3 do parts[#parts + 1] = C["k" .. i] end
print(table.concat(parts, " "))
