-- Regenerates sort_cases.txt from the oracle: `lua5.4 gen_sort_cases.lua > sort_cases.txt`
-- Records {k, id} sorted by k with `<` (mode 1), `>` (mode 2) or the invalid `<=` (mode 3).
-- Each line: mode | keys | whether sort succeeded | ids in their final order.
math.randomseed(31337)
for _ = 1, 80 do
  local len = math.random(0, 150)
  local kr = math.random(1, 40)
  local keys, recs = {}, {}
  for i = 1, len do keys[i] = math.random(1, kr); recs[i] = {k = keys[i], id = i} end
  local mode = math.random(3)
  local cmp = ({function(a, b) return a.k < b.k end, function(a, b) return a.k > b.k end,
                function(a, b) return a.k <= b.k end})[mode]
  local ok = pcall(table.sort, recs, cmp)
  local ids = {}
  for i = 1, len do ids[i] = recs[i].id end
  print(mode .. "|" .. table.concat(keys, ",") .. "|" .. tostring(ok) .. "|" .. table.concat(ids, ","))
end
