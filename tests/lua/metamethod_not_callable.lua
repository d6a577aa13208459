-- A metamethod that is not a function (nor callable) is an error naming it.
local mt = {__add = {}, __concat = 5, __len = true, __lt = "x", __unm = {}, __eq = {}}
local a, b = setmetatable({}, mt), setmetatable({}, mt)
for _, f in ipairs({
  function() return a + 1 end,
  function() return 1 - a end,
  function() return a .. "s" end,
  function() return #a end,
  function() return a < b end,
  function() return a <= b end,
  function() return -a end,
  function() return a == b end,
}) do
  print(pcall(f))
end
-- A table with __call is callable.
mt.__add = setmetatable({}, {__call = function(self, x, y) return "called" end})
print(a + 1)
