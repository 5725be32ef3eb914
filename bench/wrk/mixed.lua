-- A mixed load as Metaflow clients make it, for bench/soak.sh: new runs and tasks, metadata,
-- artifacts, heartbeats and tag mutations, with the reads a client and the UI make, and now
-- and then a connection the client closes (so that accepting and closing are exercised too).
-- Needs BenchFlow's run 1, step start and task 1 (bench/soak.sh creates them).
-- Counts replies by class. Two kinds of 4xx are the service working as specified and are
-- counted apart: 409, a tag mutation losing a race on PostgreSQL (the Metaflow client
-- retries it), and 404 with the heartbeat body, a heartbeat within 10 s of the last
-- (docs/api.md#heartbeats).

local flow = "/flows/SoakFlow"
local run = flow .. "/runs/1"
local task = run .. "/steps/start/tasks/1"
local json = { ["Content-Type"] = "application/json" }
local close = { ["Connection"] = "close" }

-- Globals of each thread's state: setup() numbers the threads, done() reads the counts.
local threads = {}
thread_id = 0
counter = 0
statuses = { ok = 0, conflict = 0, heartbeat_throttled = 0, client_error = 0, server_error = 0 }

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

local requests = {
  function(n)
    return wrk.format("POST", flow .. "/run", json,
      '{"user_name": "soak", "tags": ["soak"], "system_tags": ["metaflow_version:2.19.38"]}')
  end,
  function(n)
    return wrk.format("POST", run .. "/steps/start/task", json,
      '{"user_name": "soak", "tags": [], "system_tags": ["runtime:dev"]}')
  end,
  function(n)
    return wrk.format("POST", task .. "/metadata", json,
      '[{"field_name": "attempt", "value": "0", "type": "attempt", "user_name": "soak",'
        .. ' "tags": ["attempt_id:0"]}, {"field_name": "log", "value": "' .. n
        .. '", "type": "log", "user_name": "soak", "tags": ["attempt_id:0"]}]')
  end,
  function(n)
    return wrk.format("POST", task .. "/artifact", json,
      '[{"name": "a' .. thread_id .. "_" .. n .. '", "location": "s3://bucket/soak/' .. n
        .. '", "ds_type": "s3", "sha": "0", "type": "metaflow.artifact",'
        .. ' "content_type": "gzip+pickle-v4", "attempt_id": 0, "user_name": "soak"}]')
  end,
  function(n)
    return wrk.format("PATCH", run .. "/tag/mutate", json,
      '{"tags_to_add": ["t' .. (n % 8) .. '"], "tags_to_remove": ["t' .. ((n + 4) % 8) .. '"]}')
  end,
  function(n) return wrk.format("POST", task .. "/heartbeat", json, "{}") end,
  function(n) return wrk.format("GET", task) end,
  function(n) return wrk.format("GET", run) end,
  function(n) return wrk.format("GET", flow .. "/runs?_limit=20") end,
  function(n) return wrk.format("GET", task .. "/metadata?_limit=20") end,
  function(n) return wrk.format("GET", task .. "/artifacts/a") end,
  function(n) return wrk.format("GET", "/ping", close) end,
}

function request()
  counter = counter + 1
  return requests[(counter % #requests) + 1](counter)
end

function response(status, headers, body)
  if status < 400 then
    statuses.ok = statuses.ok + 1
  elseif status == 409 then
    statuses.conflict = statuses.conflict + 1
  elseif status == 404 and body:find("wait_time_in_seconds", 1, true) then
    statuses.heartbeat_throttled = statuses.heartbeat_throttled + 1
  elseif status < 500 then
    statuses.client_error = statuses.client_error + 1
  else
    statuses.server_error = statuses.server_error + 1
  end
end

function done(summary, latency, requests)
  local total = { ok = 0, conflict = 0, heartbeat_throttled = 0, client_error = 0, server_error = 0 }
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses") or {}
    for key, _ in pairs(total) do total[key] = total[key] + (counts[key] or 0) end
  end
  io.write(string.format("replies: 2xx %d, 409 tag conflict %d, 404 heartbeat throttled %d,"
    .. " other 4xx %d, 5xx %d, socket errors %d\n", total.ok, total.conflict,
    total.heartbeat_throttled, total.client_error, total.server_error,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout))
end
