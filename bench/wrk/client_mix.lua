-- One task's life as the Metaflow client lives it (reference trace seq 16 to 30, 91, 99):
-- create the task, two metadata posts, an artifact post, a heartbeat, then GET of the task
-- and of its artifacts. Each thread's Lua state follows one connection (run it with as many
-- threads as connections), so the steps of one life go in order on one connection.
local bench = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
local step = "mix"
local stage = 0
local task = nil
unexpected = 0
units = 0

local function post(path, body, with_type)
  return wrk.format("POST", path, bench.headers(with_type), body)
end

function request()
  if stage == 0 or task == nil then
    stage = 0
    return post(bench.step_path(step) .. "/task", bench.task_body(step), true)
  end
  local path = bench.task_path(step, task)
  if stage == 1 or stage == 2 then
    return post(path .. "/metadata", bench.metadata_body(step, task, 5), true)
  elseif stage == 3 then
    return post(path .. "/artifact", bench.artifacts_body(step, task, 12), true)
  elseif stage == 4 then
    return post(path .. "/heartbeat", "{}", false)
  elseif stage == 5 then
    return wrk.format("GET", path, bench.headers(false))
  end
  return wrk.format("GET", path .. "/artifacts", bench.headers(false))
end

function response(status, headers, body)
  local served = status == 200 or (stage == 4 and status == 404)
  if not served then
    unexpected = unexpected + 1
    stage = 0
    return
  end
  if stage == 0 then
    task = body:match('"task_id": *(%d+)')
  elseif stage == 6 then
    units = units + 1
    stage = 0
    return
  end
  stage = stage + 1
end
done = bench.report(true)
