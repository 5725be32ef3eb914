-- Shared by the workload scripts: the Metaflow client's requests as the reference trace shows
-- them (python-requests headers, the bodies of seq 16, 17 and 24), and a report that
-- bench/run reads. Paths name the objects bench/run seeds; BENCH_* variables override them.
local bench = {}

bench.flow = os.getenv("BENCH_FLOW") or "BenchFlow"
bench.run = os.getenv("BENCH_RUN") or "1"
bench.read_task = os.getenv("BENCH_READ_TASK") or "1"
bench.write_task = os.getenv("BENCH_WRITE_TASK") or "1"
bench.ts_epoch = 1795608199526

local client_headers = {
  ["User-Agent"] = "python-requests/2.28.1",
  ["Accept-Encoding"] = "gzip, deflate",
  ["Accept"] = "*/*",
}

function bench.headers(with_body)
  local headers = {}
  for name, value in pairs(client_headers) do headers[name] = value end
  if with_body then headers["Content-Type"] = "application/json" end
  return headers
end

function bench.run_path()
  return "/flows/" .. bench.flow .. "/runs/" .. bench.run
end

function bench.step_path(step)
  return bench.run_path() .. "/steps/" .. step
end

function bench.task_path(step, task)
  return bench.step_path(step) .. "/tasks/" .. task
end

local system_tags = '["runtime:dev", "metaflow_version:2.19.38", "user:bench", "python_version:3.11.2"]'

function bench.task_body(step)
  return '{"run_number": "' .. bench.run .. '", "step_name": "' .. step .. '", "flow_id": "'
    .. bench.flow .. '", "user_name": "bench", "tags": [], "system_tags": ' .. system_tags
    .. ', "ts_epoch": ' .. bench.ts_epoch .. '}'
end

-- `count` metadata records of one attempt, as the client posts them when a task starts.
function bench.metadata_body(step, task, count)
  local records = {}
  for i = 1, count do
    records[i] = '{"flow_id": "' .. bench.flow .. '", "run_number": "' .. bench.run
      .. '", "step_name": "' .. step .. '", "task_id": "' .. task .. '", "field_name": "field_'
      .. i .. '", "type": "field_' .. i .. '", "value": "value of field ' .. i
      .. '", "tags": ["attempt_id:0"], "user_name": "bench", "ts_epoch": ' .. bench.ts_epoch .. '}'
  end
  return "[" .. table.concat(records, ", ") .. "]"
end

-- `count` artifact records, as the client posts them when a task ends.
function bench.artifacts_body(step, task, count)
  local records = {}
  for i = 1, count do
    records[i] = '{"run_number": "' .. bench.run .. '", "step_name": "' .. step
      .. '", "task_id": "' .. task .. '", "attempt_id": 0, "name": "artifact_' .. i
      .. '", "content_type": "pickle-v4", "type": "metaflow.artifact", "sha": "'
      .. string.format("%040x", i) .. '", "ds_type": "local", "location": ":root:/tmp/ds/.metaflow", "flow_id": "'
      .. bench.flow .. '", "user_name": "bench", "tags": [], "system_tags": ["metaflow_version:2.19.38", '
      .. '"python_version:3.11.2", "user:bench", "runtime:dev"], "ts_epoch": ' .. bench.ts_epoch .. '}'
  end
  return "[" .. table.concat(records, ", ") .. "]"
end

function bench.get(path)
  wrk.method = "GET"
  wrk.path = path
  wrk.headers = bench.headers(false)
end

function bench.post(path, body)
  wrk.method = "POST"
  wrk.path = path
  wrk.body = body
  wrk.headers = bench.headers(true)
end

-- Scripts that check statuses themselves count `unexpected` in each thread's state; the
-- others rely on wrk's own count of statuses above 399.
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function bench.report(counted)
  return function(summary, latency, requests)
    local errors = summary.errors
    local socket_errors = errors.connect + errors.read + errors.write + errors.timeout
    local status_errors = errors.status
    local units = 0
    if counted then
      status_errors = 0
      for _, thread in ipairs(threads) do
        status_errors = status_errors + (thread:get("unexpected") or 0)
        units = units + (thread:get("units") or 0)
      end
    end
    io.write(string.format(
      'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
        .. '"errors": %d, "units": %d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      socket_errors + status_errors, units))
  end
end

done = bench.report(false)

return bench
