-- POST of a new task, with the body the Metaflow client sends (reference trace seq 16).
local bench = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
bench.post(bench.step_path("write") .. "/task", bench.task_body("write"))
