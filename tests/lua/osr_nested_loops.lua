-- Loops whose compiled code is entered in the middle (on-stack replacement): values of
-- outer loops used and redefined around inner ones, loop-carried values changing type,
-- early exits, upvalues and calls inside loops.
local function grid(n, m)
  local total, rows = 0, {}
  for i = 1, n do
    local row = {}
    local scale = i * 0.5
    for j = 1, m do
      local cell = (i * j) % 7 - 3
      for k = 1, 3 do
        cell = cell + k * scale
      end
      row[j] = cell
      total = total + cell
    end
    rows[i] = row
  end
  return total, rows[n][m], #rows
end
print(grid(12, 9))
print(grid(1, 1))

local function search(limit)
  local found, steps = nil, 0
  local x = 1
  while true do
    steps = steps + 1
    if x % 97 == 0 and x % 13 == 5 then
      found = x
      break
    end
    x = x + 1
    if x > limit then break end
  end
  return found, steps
end
print(search(100000))
print(search(10))

local function mixed(n)
  local acc = 0
  for i = 1, n do
    if i == n // 2 then acc = acc + 0.25 end
    acc = acc + i
  end
  local s = ""
  for i = 1, 5 do s = s .. tostring(acc // i) .. "," end
  return acc, s
end
print(mixed(3000))

local counter = 0
local function bump(k) counter = counter + k return counter end
local function nested_calls(n)
  local last
  for i = 1, n do
    for j = i, i + 2 do
      last = bump(j % 3)
    end
  end
  return last
end
print(nested_calls(2000), counter)

local function outer_redefined(n)
  local t = {}
  local a, b = 0, 1
  for i = 1, n do
    local c = a + b
    a, b = b, c % 1000003
    for j = 1, 2 do
      t[#t + 1] = a * j
    end
  end
  local sum = 0
  for _, v in ipairs(t) do sum = sum + v end
  return a, b, #t, sum
end
print(outer_redefined(1500))

local function with_pcall(n)
  local ok_count, errs = 0, 0
  for i = 1, n do
    local ok = pcall(function()
      if i % 250 == 0 then error("x" .. i) end
      return i
    end)
    if ok then ok_count = ok_count + 1 else errs = errs + 1 end
  end
  return ok_count, errs
end
print(with_pcall(2000))

-- The inner loop gets hot first: the code is entered at the inner loop's header, with
-- the outer loop's values (a value defined before the inner loop, passed around the
-- outer loop in place of another) in the frame.
local function inner_first(n)
  local a, b, s = 0, 1, 0
  for i = 1, n do
    local c = a + b
    a = b
    b = c
    for j = 1, 1500 do s = s + j % 3 end
  end
  return a, b, s
end
print(inner_first(10))
