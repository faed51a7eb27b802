-- wrk: the stock cancel compensatord sends through config/demo.yaml's adapter
-- (participants.stock.actions.cancel): POST /api/stock/rollback/{xid} with the same JSON body
-- (keys in the order compensatord writes them) and Idempotency-Key header. Every request
-- carries a new order number, so each is an empty rollback that legacy-services records as a
-- tombstone (HTTP 404, code 1001: what the adapter maps to not_found); wrk lists those as
-- "Non-2xx" responses, which they are meant to be.
--
--   wrk -t2 -c32 -d12s -s bench/wrk/cancel.lua http://127.0.0.1:PORT
local next_thread_id = 0

function setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
end

function init(args)
  sent = 0
  prefix = "wrk-" .. thread_id .. "-"
end

function request()
  sent = sent + 1
  local order_no = prefix .. sent
  local body = string.format('{"orderNo":"%s","qty":1,"sku":"SKU-%d"}', order_no, sent % 20 + 1)
  return wrk.format("POST", "/api/stock/rollback/" .. order_no,
    {["Content-Type"] = "application/json", ["Idempotency-Key"] = order_no .. ":0:cancel"}, body)
end
