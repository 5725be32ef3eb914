-- POST of 10 metadata records to one task (reference trace seq 17).
local bench = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
bench.post(bench.task_path("write", bench.write_task) .. "/metadata",
           bench.metadata_body("write", bench.write_task, 10))
