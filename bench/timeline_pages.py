#!/usr/bin/env python3
"""A run's whole timeline as the UI reads it: every page of its tasks in the UI's order, one
request at a time on one connection, for a number of rounds. Prints each round's time and the
latency of one page over every page of every round (p50, p99, max), and checks that every
round returned the same rows. A first round, before those, is reported on its own: it is the
first timeline a server reads after it starts, whose pages also pay for warming the
database's connections (catalog caches, the first plans of each statement).

Usage: bench/timeline_pages.py UI_PORT TASKS_PATH [ROUNDS]
  e.g. bench/timeline_pages.py 8083 /flows/ScaleFlow/runs/2000/tasks 3
Several servers (old and new binaries, side by side): UI_PORT may be a comma-separated list;
the rounds then alternate between them and each server gets its own figures.
"""
import http.client
import json
import statistics
import sys
import time


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def one_round(connection, path):
    page, rows, size, pages, digest = 1, 0, 0, [], 0
    started = time.monotonic()
    while page:
        sent = time.monotonic()
        connection.request("GET", f"{path}?_order=%2Bts_epoch&_limit=1000&_page={page}")
        response = connection.getresponse()
        body = response.read()
        pages.append(time.monotonic() - sent)
        if response.status != 200:
            sys.exit(f"timeline page {page}: {response.status} {body[:200]!r}")
        reply = json.loads(body)
        rows, size = rows + len(reply["data"]), size + len(body)
        digest = hash((digest, tuple((row["task_id"], row["attempt_id"], row["status"])
                                     for row in reply["data"])))
        page = reply["pages"]["next"]
    return time.monotonic() - started, rows, size, pages, digest


def main():
    ports = [int(port) for port in sys.argv[1].split(",")]
    path = sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    connections = {port: http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                   for port in ports}
    first = {}
    totals = {port: [] for port in ports}
    pages = {port: [] for port in ports}
    digests = set()
    for round_number in range(rounds + 1):
        for port in ports:
            total, rows, size, latencies, digest = one_round(connections[port], path)
            digests.add((rows, digest))
            if round_number == 0:
                first[port] = (total, max(latencies))
                continue
            totals[port].append(total)
            pages[port].extend(latencies)
    for port in ports:
        ms = [latency * 1000 for latency in pages[port]]
        print(f"port {port}: first round {first[port][0]:.2f} s, its slowest page "
              f"{first[port][1] * 1000:.1f} ms")
        print(f"port {port}: whole timeline {rows} tasks, {size} bytes: "
              f"{', '.join(f'{total:.2f}' for total in totals[port])} s "
              f"(median {statistics.median(totals[port]):.2f} s); one page over {len(ms)} "
              f"pages: p50 {percentile(ms, 0.5):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms, "
              f"max {max(ms):.1f} ms")
    if len(digests) != 1:
        sys.exit("the rounds did not all return the same rows")


if __name__ == "__main__":
    main()
