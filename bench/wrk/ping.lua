-- The HTTP layer's own rate: a route that does no work.
local bench = dofile(debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "common.lua")
bench.get("/ping")
