-- Gives an order's reserved units back exactly once, or leaves the tombstone (stock-moves.lua releaseStock).
-- KEYS[1] reservation hash of the order, KEYS[2..] stock hash per SKU; ARGV[1..] the SKUs of KEYS[2..], ARGV[#] now
-- Returns {outcome, status before}: released | tombstoned | unchanged
-- #include shared/orders/lua/stock-moves.lua
local outcome, before = releaseStock(KEYS[1], stockKeysBySku(2, 1, #KEYS - 1), ARGV[#ARGV])
return {outcome, before}
