-- Regenerates format_fuzz.txt from the oracle: `lua5.4 gen_format_fuzz.lua > format_fuzz.txt`
-- Random conversion specifications (valid or not) applied to one argument. Each line:
-- format <TAB> argument (i:<decimal>, f:<IEEE bits>, s:<text>) <TAB> ok|err <TAB> result or message
-- (messages name the function 'format', as a direct call does).
local function bits(x) return string.format("%016x", string.unpack("<i8", string.pack("<d", x))) end
math.randomseed(777)
local convs = {"d", "i", "u", "c", "x", "X", "o", "e", "E", "f", "g", "G", "a", "A", "s", "q", "%", "F", "y", "p"}
local flagch = {"-", "+", " ", "#", "0"}
local fv = {0.0, -0.0, 1.0, 0.5, 1.5, 2.5, 0.1, 1/3, 123.456, 9.9995, 999.5, 99999.95, 1e-5, 1e15, 1e22, 1e300,
  5e-324, 1e-310, 2^63, -2^63, 1/0, -1/0, 0/0, -(0/0), 0x1.fffffffffffffp0, 255.0, -7.0, 65.0}
local strs = {"abc", "", "hello world", "a\"b\\c", "12", "0x1p4", " 7 "}
local n = 0
while n < 1500 do
  local spec = {}
  for _ = 1, math.random(0, 3) do spec[#spec + 1] = flagch[math.random(#flagch)] end
  local r = math.random(10)
  if r <= 5 then spec[#spec + 1] = tostring(math.random(0, 30)) elseif r == 6 then spec[#spec + 1] = tostring(math.random(0, 150)) end
  r = math.random(10)
  if r <= 4 then spec[#spec + 1] = "." .. math.random(0, 20) elseif r == 5 then spec[#spec + 1] = "." elseif r == 6 then spec[#spec + 1] = "." .. math.random(0, 150) end
  local fmt = "%" .. table.concat(spec) .. convs[math.random(#convs)]
  local v, argspec
  local t = math.random(4)
  if t == 1 then v = math.random(-1000, 1000); argspec = "i:" .. v
  elseif t == 2 then v = math.random(0); argspec = "i:" .. v
  elseif t == 3 then v = fv[math.random(#fv)]; argspec = "f:" .. bits(v)
  else v = strs[math.random(#strs)]; argspec = "s:" .. v end
  local ok, res = pcall(string.format, fmt, v)
  if not ok then res = res:gsub("string%.format", "format") end
  if not res:find("[\n\t]") and not fmt:find("p") then
    io.write(fmt, "\t", argspec, "\t", ok and "ok" or "err", "\t", res, "\n")
    n = n + 1
  end
end
