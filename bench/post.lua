-- wrk: POST a body of ROWS iris rows with a rotating x-client-id.
-- BODY_STYLE=data ({"data": [...]}, ours) or inputs ({"inputs": [...]}, mlflow models serve).
local rows = tonumber(os.getenv("ROWS") or "1")
local style = os.getenv("BODY_STYLE") or "data"
local row = "[5.1, 3.5, 1.4, 0.2]"
local parts = {}
for i = 1, rows do parts[i] = row end
wrk.method = "POST"
wrk.body = '{"' .. style .. '": [' .. table.concat(parts, ", ") .. ']}'
wrk.headers["Content-Type"] = "application/json"
local counter = 0
request = function()
  counter = counter + 1
  wrk.headers["x-client-id"] = "client-" .. (counter % 1000)
  return wrk.format(nil, nil, nil, wrk.body)
end
