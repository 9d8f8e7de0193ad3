-- wrk load script for a form POST shaped like an SSO interface call (query
-- and x-www-form-urlencoded body, as real integrations send them). Point it
-- at any POST route; the default path is the easyAuth servlet.
--   wrk -t2 -c64 -d15s --latency -s bench/wrk/form_post.lua http://127.0.0.1:8080
-- Override the path with: WRK_PATH=/echo wrk ... (read below via os.getenv).
wrk.method = "POST"
wrk.path = os.getenv("WRK_PATH") or "/sso/servlet/simpleauth?method=ticketValidation&servicecode=app1"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded;charset=UTF-8"
wrk.body = "time=20240101120000&sign=0123456789abcdef0123456789abcdef" ..
           "&st=ST-1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d-ticket&datatype=json" ..
           "&username=%E5%BC%A0%E4%B8%89"
