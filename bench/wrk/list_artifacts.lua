-- GET of one task's artifacts, 12 of them (reference trace seq 99).
local bench = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
bench.get(bench.task_path("start", bench.read_task) .. "/artifacts")
