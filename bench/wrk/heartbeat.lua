-- A task's heartbeat (reference trace seq 29): body {} without a content type. A task that
-- heartbeated less than 10 s ago gets 404 (docs/api.md#heartbeats), so 200 and 404 both
-- count as served.
local bench = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
wrk.method = "POST"
wrk.path = bench.task_path("write", bench.write_task) .. "/heartbeat"
wrk.body = "{}"
wrk.headers = bench.headers(false)
unexpected = 0
function response(status)
  if status ~= 200 and status ~= 404 then unexpected = unexpected + 1 end
end
done = bench.report(true)
