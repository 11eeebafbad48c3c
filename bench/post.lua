-- wrk: POST a body of ROWS iris rows with a rotating x-client-id.
-- BODY_STYLE=data ({"data": [...]}, ours), inputs ({"inputs": [...]}, mlflow models serve),
-- instances (KServe V1), v2 (MLServer's V2 inference protocol) or input (LitServe).
-- COUNT_STATUS=1 counts 503 answers (load shed) apart from other failures; it prints
-- "status 503: N" and "status other: N" at the end (off by default: it makes wrk read each answer).
local rows = tonumber(os.getenv("ROWS") or "1")
local style = os.getenv("BODY_STYLE") or "data"
local row = "[5.1, 3.5, 1.4, 0.2]"
local parts = {}
for i = 1, rows do parts[i] = row end
local matrix = "[" .. table.concat(parts, ", ") .. "]"
wrk.method = "POST"
if style == "v2" then
  wrk.body = '{"inputs": [{"name": "predict", "datatype": "FP64", "shape": [' .. rows
    .. ', 4], "data": ' .. matrix .. '}]}'
else
  wrk.body = '{"' .. style .. '": ' .. matrix .. '}'
end
wrk.headers["Content-Type"] = "application/json"
local counter = 0
request = function()
  counter = counter + 1
  wrk.headers["x-client-id"] = "client-" .. (counter % 1000)
  return wrk.format(nil, nil, nil, wrk.body)
end

if os.getenv("COUNT_STATUS") == "1" then
  local threads = {}
  setup = function(thread)
    table.insert(threads, thread)
  end
  shed, other = 0, 0
  response = function(status, headers, body)
    if status == 503 then
      shed = shed + 1
    elseif status >= 300 then
      other = other + 1
    end
  end
  done = function(summary, latency, requests)
    local s, o = 0, 0
    for _, thread in ipairs(threads) do
      s = s + thread:get("shed")
      o = o + thread:get("other")
    end
    io.write(string.format("status 503: %d\nstatus other: %d\n", s, o))
  end
end
