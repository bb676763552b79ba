-- wrk script: POST a small JSON order to the webhook under test. cmbench sets BENCH_WEBHOOK_BODY, and
-- BENCH_WEBHOOK_HEADER/BENCH_WEBHOOK_VALUE when the trigger requires authentication (-webhook-auth).
wrk.method = "POST"
wrk.body = os.getenv("BENCH_WEBHOOK_BODY") or '{"orderId": 42, "total": 150.5, "customer": {"name": "Ada", "tier": "gold"}}'
wrk.headers["Content-Type"] = "application/json"
local name, value = os.getenv("BENCH_WEBHOOK_HEADER"), os.getenv("BENCH_WEBHOOK_VALUE")
if name and value then
  wrk.headers[name] = value
end
