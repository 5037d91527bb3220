-- Puts a value decided inside a script (JSON) where the caller's JSON holds the placeholder "\u0000fill:<name>"
-- (shared/orders/saga-steps.ts builds it): e.g. the missing lines of a rejection, known only once stock is read.
local function fill(json, name, valueJson)
  local needle = '"\\u0000fill:' .. name .. '"'
  local parts, from = {}, 1
  while true do
    local first, last = string.find(json, needle, from, true)
    if not first then break end
    parts[#parts + 1] = string.sub(json, from, first - 1)
    parts[#parts + 1] = valueJson
    from = last + 1
  end
  parts[#parts + 1] = string.sub(json, from)
  return table.concat(parts)
end
