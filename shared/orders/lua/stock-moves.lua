-- Stock per SKU (hash: available, reserved) and an order's reservation (hash: status, detail, at), moved together.
-- Reservation status: reserved | rejected | released | shipped, or cancelled: the tombstone of a cancel that came
-- before any reservation, so that a later reserve holds nothing. shared/orders/stock.ts is the TypeScript side.

-- Reserves every line or none, once per order. `lines` = {{sku, quantity, key}} (SKUs distinct).
-- Returns status, detail JSON: reserved (detail: lines) | rejected (detail: missing lines), or the status and
-- detail an earlier call left when the order was seen before.
local function reserveStock(reservationKey, lines, now)
  local existing = redis.call('HGET', reservationKey, 'status')
  if existing then
    return existing, redis.call('HGET', reservationKey, 'detail') or '[]'
  end
  local missing = {}
  for _, line in ipairs(lines) do
    local available = tonumber(redis.call('HGET', line.key, 'available') or '0')
    if available < line.quantity then
      missing[#missing + 1] = {sku = line.sku, requested = line.quantity, available = math.max(available, 0)}
    end
  end
  if #missing > 0 then
    local detail = cjson.encode(missing)
    redis.call('HSET', reservationKey, 'status', 'rejected', 'detail', detail, 'at', now)
    return 'rejected', detail
  end
  local held = {}
  for _, line in ipairs(lines) do
    redis.call('HINCRBY', line.key, 'available', -line.quantity)
    redis.call('HINCRBY', line.key, 'reserved', line.quantity)
    held[#held + 1] = {sku = line.sku, quantity = line.quantity}
  end
  local detail = cjson.encode(held)
  redis.call('HSET', reservationKey, 'status', 'reserved', 'detail', detail, 'at', now)
  return 'reserved', detail
end

-- Takes the reserved units out of `reserved` (and back into `available` when `giveBack`) for the SKUs of
-- `stockKeys` (sku → key), then sets the reservation's status.
local function settleReserved(reservationKey, stockKeys, giveBack, status, now)
  for _, line in ipairs(cjson.decode(redis.call('HGET', reservationKey, 'detail'))) do
    local key = stockKeys[line.sku]
    if key then
      redis.call('HINCRBY', key, 'reserved', -line.quantity)
      if giveBack then redis.call('HINCRBY', key, 'available', line.quantity) end
    end
  end
  redis.call('HSET', reservationKey, 'status', status, 'at', now)
end

-- Gives reserved units back exactly once (cancel); with nothing reserved yet, leaves the tombstone.
-- Returns outcome, status before: released | tombstoned | unchanged.
local function releaseStock(reservationKey, stockKeys, now)
  local status = redis.call('HGET', reservationKey, 'status')
  if not status then
    redis.call('HSET', reservationKey, 'status', 'cancelled', 'detail', '[]', 'at', now)
    return 'tombstoned', ''
  end
  if status ~= 'reserved' then return 'unchanged', status end
  settleReserved(reservationKey, stockKeys, true, 'released', now)
  return 'released', status
end

-- After shipping, the reserved units leave stock for good, exactly once. Returns committed | unchanged.
local function commitStock(reservationKey, stockKeys, now)
  local status = redis.call('HGET', reservationKey, 'status')
  if status ~= 'reserved' then return 'unchanged', status or '' end
  settleReserved(reservationKey, stockKeys, false, 'shipped', now)
  return 'committed', status
end

-- The stock keys of a script by SKU: KEYS from `firstKey` and ARGV from `firstArg` name the same SKUs in order.
local function stockKeysBySku(firstKey, firstArg, n)
  local keys = {}
  for i = 0, n - 1 do keys[ARGV[firstArg + i]] = KEYS[firstKey + i] end
  return keys
end
