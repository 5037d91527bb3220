-- Takes an order's reserved units out of stock for good once it shipped, exactly once (stock-moves.lua).
-- KEYS[1] reservation hash of the order, KEYS[2..] stock hash per SKU; ARGV[1..] the SKUs of KEYS[2..], ARGV[#] now
-- Returns {outcome, status before}: committed | unchanged
-- #include shared/orders/lua/stock-moves.lua
local outcome, before = commitStock(KEYS[1], stockKeysBySku(2, 1, #KEYS - 1), ARGV[#ARGV])
return {outcome, before}
