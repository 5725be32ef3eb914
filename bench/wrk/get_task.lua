-- GET of one task, as the Metaflow client reads it.
wrk.method = "GET"
wrk.path = "/flows/BenchFlow/runs/1/steps/start/tasks/1"
