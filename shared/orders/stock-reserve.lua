-- Reserves every line of an order or none, once per order (stock-moves.lua reserveStock).
-- KEYS[1] reservation hash of the order, KEYS[2..n+1] stock hash per SKU
-- ARGV[1] n, then per line: sku, quantity (SKUs distinct, in the order of KEYS); ARGV[2n+2] now (ISO)
-- Returns {status, detail JSON}
-- #include shared/orders/lua/stock-moves.lua
local n = tonumber(ARGV[1])
local lines = {}
for i = 1, n do lines[i] = {sku = ARGV[2 * i], quantity = tonumber(ARGV[2 * i + 1]), key = KEYS[i + 1]} end
local status, detail = reserveStock(KEYS[1], lines, ARGV[2 * n + 2])
return {status, detail}
