-- A first program: closures, tables, string formatting.
local function counter()
  local n = 0
  return function() n = n + 1; return n end
end
local next_id = counter()
local langs = { "Lua", "MIR", "LLVM" }
for i, name in ipairs(langs) do
  print(string.format("%d. %s (id %d)", i, name, next_id()))
end
print("fib(20) =", (function(f, n) return f(f, n) end)(function(self, n)
  if n < 2 then return n end
  return self(self, n - 1) + self(self, n - 2)
end, 20))
