-- GET of one task's metadata, 10 records (reference trace seq 60).
local bench = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
bench.get(bench.task_path("start", bench.read_task) .. "/metadata")
