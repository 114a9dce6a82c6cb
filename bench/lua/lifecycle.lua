-- The lifecycle mix: startSession on a free device for a user, then endSession of it.
--
-- BENCH_DEVICES names a file of "device_id user_id" lines, devices without an open
-- session; each wrk thread takes every n-th line (BENCH_THREADS threads), so no two
-- threads share a device. A thread keeps a queue of started sessions to end, and ends
-- them before it starts new ones; a device goes back to its thread's pool when the
-- endSession answer names it. With more devices per thread than connections, the pool
-- never runs dry.

dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local free = {}
local to_end = {}
local headers = {}
local path = "/graphql"

local DETAILS = "details { ... on StorageDetails { device { uuid } }"
  .. " ... on TravelDetails { rentalDevice { uuid } } }"
local START = '{"query":"mutation($d: UUID!, $u: UUID!) { startSession(deviceId: $d, userId: $u)'
  .. ' { ... on Session { uuid ' .. DETAILS .. ' } ... on OperationError { code } } }",'
  .. '"variables":{"d":"%s","u":"%s"}}'
local FINISH = '{"query":"mutation($s: UUID!) { endSession(sessionId: $s)'
  .. ' { ... on Session { uuid ' .. DETAILS .. ' } ... on OperationError { code } } }",'
  .. '"variables":{"s":"%s"}}'

local users = {}

function init(args)
  headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
  headers["Content-Type"] = "application/json"
  local index = thread_index or 1
  local count = tonumber(os.getenv("BENCH_THREADS")) or 1
  local line_number = 0
  for line in io.lines(os.getenv("BENCH_DEVICES")) do
    local device, user = line:match("^(%S+) (%S+)$")
    if device and line_number % count == index - 1 then
      table.insert(free, device)
      users[device] = user
    end
    line_number = line_number + 1
  end
end

function request()
  local session = table.remove(to_end, 1)
  if session then
    return wrk.format("POST", path, headers, FINISH:format(session))
  end
  local device = table.remove(free, 1)
  if not device then
    error("the device pool of a wrk thread ran dry: give it more devices")
  end
  return wrk.format("POST", path, headers, START:format(device, users[device]))
end

function response(status, headers, body)
  if not count_answer(status, body, '"code":') then
    return
  end
  local ids = {}
  for id in body:gmatch('"uuid":"([%x%-]+)"') do
    table.insert(ids, id)
  end
  if #ids < 2 then
    return
  end
  if body:find('"startSession"', 1, true) then
    table.insert(to_end, ids[1])
  else
    table.insert(free, ids[2])
  end
end
