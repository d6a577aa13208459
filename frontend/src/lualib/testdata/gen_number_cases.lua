-- Regenerates number_cases.txt from the oracle: `lua5.4 gen_number_cases.lua > number_cases.txt`
-- "tostring <TAB> <IEEE bits> <TAB> output" and "tonumber <TAB> input <TAB> i:<n> | f:<bits> | nil".
local function bits(x) return string.format("%016x", string.unpack("<i8", string.pack("<d", x))) end
local function num(v)
  if v == nil then return "nil" end
  if math.type(v) == "integer" then return "i:" .. v end
  return "f:" .. bits(v)
end
math.randomseed(20240601)
local floats = {}
for e = -1080, 1030, 19 do
  floats[#floats + 1] = (math.random() + 0.5) * 2.0 ^ e
  floats[#floats + 1] = -math.random(1, 1 << 53) * 2.0 ^ (e - 52)
end
for d = -330, 310, 11 do
  floats[#floats + 1] = tonumber("1e" .. d)
  floats[#floats + 1] = tonumber(math.random(1, 99999) .. "e" .. d)
end
for i = 1, 60 do floats[#floats + 1] = math.random(-10 ^ 6, 10 ^ 6) / 1000 end
for i = 0, 60 do floats[#floats + 1] = 2.0 ^ i; floats[#floats + 1] = 10.0 ^ i; floats[#floats + 1] = 10.0 ^ i - 0.5 end
for _, x in ipairs(floats) do
  if x == x and x ~= 1/0 and x ~= -1/0 then
    io.write("tostring\t", bits(x), "\t", tostring(x), "\n")
    for _, f in ipairs{"%.17g", "%a", "%.3e"} do
      local s = string.format(f, x)
      if #s < 100 then io.write("tonumber\t", s, "\t", num(tonumber(s)), "\n") end
    end
  end
end
for i = 1, 100 do
  local s = tostring(math.random(0)) .. ({"", ".", ".5", "e3", "e-3", "0", "1"})[math.random(7)]
  io.write("tonumber\t", s, "\t", num(tonumber(s)), "\n")
  local h = string.format("0x%x", math.random(0)) .. ({"", ".", ".8", "p3", "p-3", "f", "ff"})[math.random(7)]
  io.write("tonumber\t", h, "\t", num(tonumber(h)), "\n")
end
