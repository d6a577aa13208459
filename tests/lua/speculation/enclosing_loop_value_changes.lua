-- expect-deopts: 1
-- A main-chunk loop nest entered mid-loop at its inner header: the inner loop reads
-- values the outer loop defines on each trip (a scale, a bound, a label), and those
-- change type after the inner loop's optimized entry was made (int -> float -> string).
local total, count = 0, 0
local labels = {}
for i = 1, 600 do
  local scale
  if i < 300 then scale = 2 elseif i < 500 then scale = 2.5 else scale = tostring(i % 7) end
  local bound = i % 5 + 3
  local label = i % 2 == 0 and "even" or i
  for j = 1, bound do
    total = total + scale * j
    count = count + 1
  end
  labels[label] = (labels[label] or 0) + 1
end
print(total, math.type(total), count, labels.even)
