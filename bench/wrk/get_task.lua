-- GET of one task (reference trace seq 91).
local bench = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
bench.get(bench.task_path("start", bench.read_task))
