-- An order's hold on one SKU (hash in the SKU's slot: status held | short | released | committed, quantity,
-- available (when short: what there was), at). shared/orders/stock.ts is the TypeScript side.

local function setHold(hold, status, quantity, now, available)
  redis.call('HSET', hold, 'status', status, 'quantity', quantity, 'at', now)
  if available then redis.call('HSET', hold, 'available', available) end
end
