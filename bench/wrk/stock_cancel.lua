-- wrk script: POSTs compensatord's stock cancel call (POST /api/stock/rollback/{orderNo}) with a
-- JSON body, one new order number per request (W<thread>-<n>), so every call does the work of a
-- first cancel rather than hitting an answer cached by idempotency. The orders were never locked,
-- so each answer is 404 {"code":1001} and leaves a tombstone: the seed systems' "empty rollback",
-- which compensatord counts as done. wrk reports these as "Non-2xx or 3xx responses".
-- Prints one summary line the bench script parses.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  n = 0
end

function request()
  n = n + 1
  local order = string.format("W%d-%d", id, n)
  local body = string.format('{"orderNo":"%s","sku":"SKU-1","qty":1}', order)
  return wrk.format("POST", "/api/stock/rollback/" .. order, { ["Content-Type"] = "application/json" }, body)
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("SUMMARY requests=%d req_per_s=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d timeouts=%d non2xx=%d\n",
    summary.requests, summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    errors, summary.errors.timeout, summary.errors.status))
end
