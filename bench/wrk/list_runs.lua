-- GET of a flow's runs, 500 of them (reference trace seq 52).
local bench = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
bench.get("/flows/" .. bench.flow .. "/runs")
