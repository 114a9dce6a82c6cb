-- Sends the requests of a spec file round-robin, each connection in turn.
--
-- BENCH_SPEC names the file: requests separated by a line "--"; each starts with a line
-- "METHOD PATH" and the rest of it is the body (a GraphQL POST body, or nothing).
-- BENCH_TOKEN, when set, goes in an Authorization: Bearer header.

dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local function read_specs(path)
  local file = assert(io.open(path, "r"))
  local text = file:read("*a")
  file:close()
  local specs = {}
  for chunk in (text .. "\n--\n"):gmatch("(.-)\n%-%-\n") do
    local method, target, body = chunk:match("^(%u+) (%S+)\n?(.*)$")
    if method then
      table.insert(specs, { method = method, path = target, body = body ~= "" and body or nil })
    end
  end
  return specs
end

local requests = {}
local next_index = 1

function init(args)
  local headers = { ["Accept"] = "application/json" }
  local token = os.getenv("BENCH_TOKEN")
  if token and token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  for _, spec in ipairs(read_specs(os.getenv("BENCH_SPEC"))) do
    local h = {}
    for k, v in pairs(headers) do h[k] = v end
    if spec.body then h["Content-Type"] = "application/json" end
    table.insert(requests, wrk.format(spec.method, spec.path, h, spec.body))
  end
  -- Threads start at different places in the list, so a mix is mixed from the start.
  next_index = (thread_index or 1) % #requests + 1
end

function request()
  local r = requests[next_index]
  next_index = next_index % #requests + 1
  return r
end

function response(status, headers, body)
  count_answer(status, body)
end
