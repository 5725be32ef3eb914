-- POST of 12 artifact records to one task (reference trace seq 24).
local bench = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
bench.post(bench.task_path("write", bench.write_task) .. "/artifact",
           bench.artifacts_body("write", bench.write_task, 12))
