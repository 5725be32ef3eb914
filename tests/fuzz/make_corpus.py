#!/usr/bin/env python3
"""Seed corpora for the fuzz targets from the conformance trace.

make_corpus.py TRACE OUT_DIR writes OUT_DIR/http/ (one raw HTTP/1.1 request a file, as the
Metaflow client sent it) and OUT_DIR/json/ (one body a file, its first byte choosing the
route of json_fuzzer.cpp's kTargets that reads such a body). Run at fuzz time; the corpora
are not committed.
"""
import hashlib
import json
import os
import sys
import urllib.parse

# Route of each body-reading request, matched by path suffix, as kTargets in json_fuzzer.cpp.
JSON_TARGETS = ["flow", "/run", "/step", "/task", "/metadata", "/artifact", "/tag/mutate",
                "runs/heartbeat", "tasks/heartbeat"]


def json_route(method, path):
    if method == "PATCH":
        return 6
    if path.endswith("/heartbeat"):
        return 8 if "/tasks/" in path else 7
    for index, suffix in enumerate(JSON_TARGETS[1:6], start=1):
        if path.endswith(suffix):
            return index
    return 0


def main():
    trace, out = sys.argv[1], sys.argv[2]
    for sub in ("http", "json"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    written = {"http": set(), "json": set()}

    def write(sub, data):
        name = hashlib.sha1(data).hexdigest()
        if name in written[sub]:
            return
        written[sub].add(name)
        with open(os.path.join(out, sub, name), "wb") as f:
            f.write(data)

    with open(trace) as f:
        for line in f:
            row = json.loads(line)
            target = row["path"]
            pairs = [(k, v) for k, values in row["query"].items() for v in values]
            if pairs:
                target += "?" + urllib.parse.urlencode(pairs)
            body = b""
            if "request_json" in row:
                body = json.dumps(row["request_json"]).encode()
            head = f"{row['method']} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            for name, value in row["request_headers"].items():
                head += f"{name}: {value}\r\n"
            if body or row["method"] in ("POST", "PATCH"):
                head += f"Content-Length: {len(body)}\r\n"
            write("http", head.encode() + b"\r\n" + body)
            if body:
                write("json", bytes([json_route(row["method"], row["path"])]) + body)
    print(f"{len(written['http'])} http seeds, {len(written['json'])} json seeds in {out}")


if __name__ == "__main__":
    main()
