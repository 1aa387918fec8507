-- work.lua: tables and strings, deterministic output.
local t, s = {}, {}
for i = 1, 60000 do
  t[i] = string.format("k%d:%s", i % 7919, string.rep("y", i % 13))
  s[t[i]] = (s[t[i]] or 0) + i
end
local keys = {}
for k in pairs(s) do keys[#keys + 1] = k end
table.sort(keys)
local acc = {}
for i = 1, #keys, 97 do acc[#acc + 1] = keys[i] .. "=" .. s[keys[i]] end
print(#keys, #table.concat(acc, ","), acc[1])
