-- GET of a step's tasks, 200 of them (reference trace seq 59).
local bench = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
bench.get(bench.step_path("start") .. "/tasks")
