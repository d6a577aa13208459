-- Strings too large for Lua are an error, not an abort.
print(pcall(string.rep, "x", 1 << 31))
print(pcall(string.rep, "x", math.maxinteger))
print(pcall(string.rep, "abc", 1 << 30))
print(pcall(string.rep, "x", 1 << 30, ","))
print(#string.rep("", 1000, ""), #string.rep("x", 0), #string.rep("x", -5))
print(pcall(string.rep, "x", 2^31))
print(pcall(string.rep, "x", 2^63))
-- Large but within limits: 64 MiB, concatenated and measured.
local s = string.rep("ab", 1 << 25)
print(#s, #(s .. s), #s:upper(), s:sub(-3), #table.concat({ s, s }, "-"))
