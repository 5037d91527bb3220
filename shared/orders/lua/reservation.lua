-- #include shared/orders/lua/order-move.lua
-- An order's reservation as the order sees it (hash in the order's slot: status reserved | rejected | released |
-- shipped, or cancelled: the tombstone of a cancel before any reservation; detail: lines or missing lines as JSON;
-- at). The units themselves are held per SKU, in the SKU's slot (lua/stock-holds.lua).

-- A cancelled order's reservation: `released` with a STOCK_RELEASED entry when it was reserved, a tombstone when
-- there was none (so that a late reservation is not applied). Returns released | tombstoned | unchanged.
-- The caller gives the units back per SKU (sku-release.lua), before or after: both are idempotent.
local function releaseReservation(keys, reservation, releasedHistory, now)
  local status = redis.call('HGET', reservation, 'status')
  if not status then
    redis.call('HSET', reservation, 'status', 'cancelled', 'detail', '[]', 'at', now)
    return 'tombstoned'
  end
  if status ~= 'reserved' then return 'unchanged' end
  redis.call('HSET', reservation, 'status', 'released', 'at', now)
  noteOrder(keys, releasedHistory, {})
  return 'released'
end
