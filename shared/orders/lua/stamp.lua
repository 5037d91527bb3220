-- Adds `"field":value` as the last member of a JSON object: the order version into a history entry or an event.
local function stamp(json, field, value)
  return string.sub(json, 1, -2) .. ',"' .. field .. '":' .. value .. '}'
end
