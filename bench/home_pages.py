#!/usr/bin/env python3
"""The UI home page's queries, one request at a time on one connection per server: the runs
list newest first (`/runs?_order=-ts_epoch&_limit=30&_group_limit=31`) and the same grouped by
flow (`&_group=flow_id`). Prints p50, p99 and max of each query per server.

Usage: bench/home_pages.py UI_PORT[,UI_PORT...] [REQUESTS]
  e.g. bench/home_pages.py 8083 300
Several servers (old and new binaries, side by side): the requests alternate between them.
"""
import http.client
import sys
import time

QUERIES = ["/runs?_order=-ts_epoch&_limit=30&_group_limit=31",
           "/runs?_order=-ts_epoch&_limit=30&_group=flow_id&_group_limit=31"]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    ports = [int(port) for port in sys.argv[1].split(",")]
    requests = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    connections = {port: http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                   for port in ports}
    latencies = {(port, query): [] for port in ports for query in QUERIES}
    for _ in range(requests):
        for port in ports:
            for query in QUERIES:
                sent = time.monotonic()
                connections[port].request("GET", query)
                response = connections[port].getresponse()
                body = response.read()
                latencies[(port, query)].append((time.monotonic() - sent) * 1000)
                if response.status != 200:
                    sys.exit(f"{query}: {response.status} {body[:200]!r}")
    for (port, query), ms in latencies.items():
        print(f"port {port} {query}: p50 {percentile(ms, 0.5):.1f} ms, "
              f"p99 {percentile(ms, 0.99):.1f} ms, max {max(ms):.1f} ms over {len(ms)}")


if __name__ == "__main__":
    main()
