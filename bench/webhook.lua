-- wrk script: POST a small JSON order to the webhook under test.
wrk.method = "POST"
wrk.body = '{"orderId": 42, "total": 150.5, "customer": {"name": "Ada", "tier": "gold"}}'
wrk.headers["Content-Type"] = "application/json"
