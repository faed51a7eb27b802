-- wrk: the "try" of N orders at legacy-services, the calls an order service makes before it
-- dies half-way: for order i a stock lock of 1 x SKU-(i mod SKUS + 1) and a lock of coupon
-- CPN-i, so that compensatord's confirm or cancel of each branch is real work.
-- Thread k of T sends orders k+1, k+1+T, ... When a thread has all its answers it writes
-- DONE_DIR/<k> holding its number of answers other than 200 and stops. wrk itself sleeps for
-- its whole -d, so the caller sends it SIGINT once every thread is done (bench/throughput.sh).
--
--   wrk -t T -c C -d 1h -s bench/wrk/seed_locks.lua URL -- PREFIX N T SKUS DONE_DIR
local next_thread_id = 0

function setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
end

function init(args)
  prefix, count, threads, skus, done_dir = args[1], tonumber(args[2]), tonumber(args[3]), tonumber(args[4]), args[5]
  order, coupon_next = thread_id + 1, false
  expected = 0
  if count > thread_id then
    expected = 2 * math.floor((count - thread_id - 1) / threads + 1)
  end
  answered, failed = 0, 0
  headers = {["Content-Type"] = "application/json"}
  -- wrk calls the first thread's request() once before it starts, to count pipelined requests,
  -- and never sends what it returns: give it a filler so no lock is lost.
  verify_call_pending = thread_id == 0
end

function request()
  -- A filler for that call, and once this thread's share is sent (wrk asks until it stops).
  if verify_call_pending or order > count then
    verify_call_pending = false
    return wrk.format("GET", "/healthz")
  end
  local order_no = prefix .. order
  if coupon_next then
    coupon_next = false
    local body = string.format('{"couponId":"CPN-%d","orderNo":"%s"}', order, order_no)
    order = order + threads
    return wrk.format("POST", "/api/coupon/lock", headers, body)
  end
  coupon_next = true
  local body = string.format('{"orderNo":"%s","qty":1,"sku":"SKU-%d"}', order_no, order % skus + 1)
  return wrk.format("POST", "/api/stock/lock", headers, body)
end

function response(status, headers, body)
  if body == "ok" then return end  -- a /healthz filler
  answered = answered + 1
  if status ~= 200 then failed = failed + 1 end
  if answered == expected then
    local file = assert(io.open(done_dir .. "/" .. thread_id, "w"))
    file:write(failed)
    file:close()
    wrk.thread:stop()
  end
end
