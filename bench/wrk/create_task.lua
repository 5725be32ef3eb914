-- POST of a new task, with the body the Metaflow client sends (reference trace seq 8).
wrk.method = "POST"
wrk.path = "/flows/BenchFlow/runs/1/steps/start/task"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"run_number": "1", "step_name": "start", "flow_id": "BenchFlow", "user_name": "bench", "tags": [], "system_tags": ["runtime:dev", "metaflow_version:2.19.38", "user:bench", "python_version:3.11.2"], "ts_epoch": 1795608199526}'
