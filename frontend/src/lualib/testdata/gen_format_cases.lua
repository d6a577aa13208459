-- Regenerates format_cases.txt from the oracle: `lua5.4 gen_format_cases.lua > format_cases.txt`
-- Each line: format <TAB> argument (i:<decimal> or f:<IEEE bits in hex>) <TAB> lua5.4's output.
local values = {
  0, 1, -1, 7, 42, 255, -255, 1000000, math.maxinteger, math.mininteger, 0x7fffffff, -0x80000000,
  0.0, -0.0, 1.0, -1.0, 0.1, -0.1, 1/3, 2/3, 0.5, 1.5, 2.5, -2.5, 0.125, 0.375, 1e-5, 1e-4, 0.00001234,
  123456.0, 1234567.0, 123.456, 9.9995, 99999.95, 999999.5, 0.95, 9.5, 0.05, 1.005, 2.675, math.pi, -math.pi,
  1e15, 1e16, 1e17, 1e21, 1e22, 1e23, 1e100, 1e300, 1.7976931348623157e308, 5e-324, 1e-320,
  2.2250738585072014e-308, 2.2250738585072009e-308, 1e-310, 2^53, 2^53 + 2, 2^63, -2^63, 2^64,
  0x1.fffffffffffffp0, 0x1.08p0, 0x1.18p0, 0x1.f8p0, 0x1.ffffffffffff8p0, 0x0.fffffffffffffp-1022,
  1/0, -1/0, 0/0, -(0/0),
}
local formats = {
  "%g", "%.0g", "%.1g", "%.3g", "%.6g", "%.10g", "%.14g", "%.15g", "%.17g", "%.20g",
  "%#g", "%#.0g", "%#.3g", "%#.10g", "%G", "%.3G", "%-12g|", "%012g", "%+g", "% g",
  "%e", "%.0e", "%#.0e", "%.1e", "%.3e", "%.15e", "%.20e", "%E", "%+.2E", "%15.4e", "%-15.4e|", "%015.4e",
  "%f", "%.0f", "%.1f", "%.2f", "%.3f", "%#.0f", "%.10f", "%.20f", "%10.3f", "%-10.3f|", "%010.3f", "%+f", "% f", "%+.0f",
  "%a", "%A", "%.0a", "%.1a", "%.2a", "%.3a", "%.13a", "%.15a", "%#a", "%#.0a", "%20a", "%-20a|", "%020a", "%+a", "% a",
  "%d", "%5d", "%-5d|", "%05d", "%+d", "% d", "%.3d", "%.0d", "%8.3d", "%i", "%u", "%x", "%X", "%o", "%#x", "%#X", "%#o",
  "%.5x", "%#.5x", "%010x", "%-#10o|", "%c", "%5c", "%-3c|",
}
local function argspec(v)
  if math.type(v) == "integer" then return "i:" .. v end
  return string.format("f:%016x", string.unpack("<i8", string.pack("<d", v)))
end
local intconv = { d = true, i = true, u = true, x = true, X = true, o = true, c = true }
for _, f in ipairs(formats) do
  local conv = f:match("%a")
  for _, v in ipairs(values) do
    local arg = v
    if intconv[conv] then arg = math.tointeger(v) end
    if arg and not (conv == "c" and (arg < 32 or arg > 126)) then
      local ok, out = pcall(string.format, f, arg)
      assert(ok, out)
      io.write(f, "\t", argspec(arg), "\t", out, "\n")
    end
  end
end
