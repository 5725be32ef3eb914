-- The HTTP layer's own rate: a route that does no work.
wrk.method = "GET"
wrk.path = "/ping"
