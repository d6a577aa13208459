-- How runtime errors name a value read from a table: by its key when the key is a
-- constant string, "integer index" for a small integer constant (0..255), "?" for any
-- other key; `k and e` with a true constant `k` (and `nil or e`) is named as `e` is.
local t = {1, 2}
local function try(f, ...) print(select(2, pcall(f, ...))) end
try(function(a) return 1 + t[5] end)
try(function(a) return 1 + t[0] end)
try(function(a) return 1 + t[255] end)
try(function(a) return 1 + t[256] end)
try(function(a) return 1 + t[-1] end)
try(function(a) return 1 + t[a] end, 7)
try(function(a) return 1 + t[a] end, "zz")
try(function(a) return 1 + t["k"] end)
try(function(a) return 1 + t.k end)
try(function(a) return 1 + t[a + 1] end, 7)
try(function(a) return 1 + t[2.5] end)
try(function(a) return 1 + t[true] end)
try(function(a) local u = {} return u[a] .. "x" end, 3)
try(function(a) return t[a].x end, 3)
try(function(a) return t[5].x end)
try(function(a) return #t[a] end, 9)
try(function(a) return t[a]() end, 9)
try(function(a) return -t[a] end, 9)
try(function(a) return (2.0 and t[0]) .. "x" end)
try(function(a) return ("s" and t.k) .. "x" end)
try(function(a) return (nil or t[7]) .. "x" end)
try(function(a) return (false or t[a]) + 1 end, 3)
try(function(a) return (a and t[0]) .. "x" end, 1)
try(function(a) return (a or t[0]) .. "x" end, nil)
