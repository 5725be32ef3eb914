#!/usr/bin/env python3
"""The UI's datastore routes, timed through the real server: a task log of 100,000 lines
(its first page cold, i.e. read and merged from local disk, and from the cache), and a run's
DAG and parameters per request from the cache; the server's memory (RSS) before, during and
after a slow download of that whole log; and, with --s3, the same first page, DAG and
parameters from an S3 server on loopback (tests/datastore/s3_server.mjs, @20minutes/s3rver,
checking SigV4 signatures; needs node and `npm ci`), cold (the first request of a freshly
started service) and cached.

The server runs on loopback over a SQLite file holding the rows of the recorded UI trace
(tests/fixtures/ui/ui-trace-db.sql) and a copy of its datastore (tests/fixtures/ui-datastore)
in which task AccRetry_ui/5/flaky/49 gets a stdout of 100,000 MFLOG lines. A cold read is
forced by appending one line to the log (the cache keeps a log while its size is unchanged).
Requests are sequential, on one keep-alive connection; figures are medians.

  bench/ui_storage.py --binary build/metadata-service [--cold 5] [--cached 200] [--s3]
"""

import argparse
import datetime
import http.client
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
LOG_LINES = 100_000
TASK = "/flows/AccRetry_ui/runs/5/steps/flaky/tasks/49"
RUN = "/flows/AccParams_ui/runs/8"
FIRST_PAGE = TASK + "/logs/out?attempt_id=0&_limit=1000&_page=1&_order=%2Brow"
TARGETS_MS = {"log first page, cold": 500, "log first page, cached": 50, "DAG, cached": 20,
              "parameters, cached": 20}
DOWNLOAD = TASK + "/logs/out/download?attempt_id=0"
S3 = {"bucket": "mf-bench-bucket", "prefix": "metaflow", "key-id": "AKIDBENCH",
      "secret": "bench-secret"}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mflog_line(i):
    seconds, micros = divmod(i, 1_000_000)
    return (f"[MFLOG|0|2026-12-05T08:{(seconds // 60) % 60:02d}:{seconds % 60:02d}.{micros:06d}Z"
            f"|task|{i:08x}-0000-4000-8000-000000000000]line {i} of a long task log: "
            "the quick brown fox jumps over the lazy dog\n")


def wait_for(port, deadline=60):
    end = time.time() + deadline
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def download_memory(process, port):
    """RSS before the log is read, once its first page is cached, at its highest while a slow
    client downloads it whole (64 kB reads, 1 ms apart), and after."""
    figures = {"before (log not read)": rss_mb(process.pid)}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    timed(connection, FIRST_PAGE)
    figures["log cached (first page read)"] = rss_mb(process.pid)
    connection.request("GET", DOWNLOAD)
    response = connection.getresponse()
    highest, received = 0.0, 0
    while chunk := response.read(65536):
        received += len(chunk)
        highest = max(highest, rss_mb(process.pid))
        time.sleep(0.001)
    if response.status != 200:
        raise RuntimeError(f"download: {response.status}")
    figures["highest during the download"] = highest
    time.sleep(0.5)
    figures["after"] = rss_mb(process.pid)
    return figures, received


def serve(binary, work, env):
    api_port, ui_port = free_port(), free_port()
    args = [binary, "serve", "--host", "127.0.0.1", "--port", str(api_port), "--ui-port",
            str(ui_port), "--database", f"sqlite:{work / 'ui.db'}", "--log-level", "warning"]
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL)
    wait_for(api_port)
    wait_for(ui_port)
    return process, ui_port


def stop(process):
    process.terminate()
    process.wait(timeout=30)


def timed(connection, target):
    start = time.perf_counter()
    connection.request("GET", target)
    response = connection.getresponse()
    body = response.read()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status != 200:
        raise RuntimeError(f"{target}: {response.status} {body[:300]!r}")
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / "build" / "metadata-service"))
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--cached", type=int, default=200)
    parser.add_argument("--s3", action="store_true", help="also from S3 on loopback")
    options = parser.parse_args()

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="mf-bench-ui-storage-") as folder:
        work = Path(folder)
        shutil.copytree(FIXTURES / "ui-datastore", work / "ds")
        log = work / "ds" / ".metaflow" / "AccRetry_ui" / "5" / "flaky" / "49" / "0.task_stdout.log"
        with open(log, "w") as out:
            for i in range(LOG_LINES):
                out.write(mflog_line(i))
        env = dict(os.environ, METAFLOW_DATASTORE_SYSROOT_LOCAL=str(work / "ds"))
        env.pop("METAFLOW_DATASTORE_SYSROOT_S3", None)

        # The schema comes from the server; the rows go straight into its file.
        process, _ = serve(options.binary, work, env)
        stop(process)
        rows = (FIXTURES / "ui" / "ui-trace-db.sql").read_text().replace("INSERT INTO public.",
                                                                         "INSERT INTO ")
        order = ["flows_v3", "runs_v3", "steps_v3", "tasks_v3", "metadata_v3", "artifact_v3"]
        statements = sorted((line for line in rows.splitlines() if line.startswith("INSERT")),
                            key=lambda line: order.index(line.split()[2]))
        database = sqlite3.connect(work / "ui.db")
        database.executescript("BEGIN;\n" + "\n".join(statements) + "\nCOMMIT;")
        database.close()

        process, port = serve(options.binary, work, env)
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            figures = {}
            cold = []
            for i in range(options.cold):
                with open(log, "a") as out:
                    out.write(mflog_line(LOG_LINES + i))
                cold.append(timed(connection, FIRST_PAGE))
            figures["log first page, cold"] = cold
            figures["log first page, cached"] = [timed(connection, FIRST_PAGE)
                                                 for _ in range(options.cached)]
            timed(connection, RUN + "/dag")
            timed(connection, RUN + "/parameters")
            figures["DAG, cached"] = [timed(connection, RUN + "/dag")
                                      for _ in range(options.cached)]
            figures["parameters, cached"] = [timed(connection, RUN + "/parameters")
                                             for _ in range(options.cached)]
        finally:
            stop(process)
        # A service of its own, so that "before" is before the log was ever read.
        process, port = serve(options.binary, work, env)
        try:
            memory, downloaded = download_memory(process, port)
        finally:
            stop(process)
        s3_figures = s3_timings(options, work, env) if options.s3 else {}
    load_after = os.getloadavg()[0]

    cores = os.cpu_count()
    s3_flag = " --s3" if options.s3 else ""
    print(f"- Command: `bench/ui_storage.py --cold {options.cold} --cached {options.cached}{s3_flag}`")
    print(f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(f"- Machine: {cores} cores, {platform.machine()}, Linux {platform.release()}")
    print(f"- Load average (1 min) before / after: {load_before:.2f} / {load_after:.2f} "
          "(the machine is shared: other builds and tests run beside)")
    print(f"- Log: {LOG_LINES:,} MFLOG lines, {log_size_mb(LOG_LINES):.1f} MB, first page of "
          "1,000 lines; SQLite store")
    print()
    print("| Request | Samples | Median ms | Max ms | Target ms | Met |")
    print("|---|---|---|---|---|---|")
    for name, samples in figures.items():
        median = statistics.median(samples)
        target = TARGETS_MS[name]
        print(f"| {name} | {len(samples)} | {median:.2f} | {max(samples):.2f} | < {target} | "
              f"{'yes' if median < target else 'no'} |")
    print()
    print(f"Server RSS around a download of the whole log ({downloaded / 1e6:.1f} MB, local disk):")
    print()
    print("| When | RSS MB |")
    print("|---|---|")
    for name, value in memory.items():
        print(f"| {name} | {value:.1f} |")
    if s3_figures:
        print()
        print("From S3 on loopback (s3rver, SigV4 checked):")
        print()
        print("| Request | Samples | Median ms | Max ms |")
        print("|---|---|---|---|")
        for name, samples in s3_figures.items():
            print(f"| {name} | {len(samples)} | {statistics.median(samples):.2f} | "
                  f"{max(samples):.2f} |")
    return 0


def s3_timings(options, work, env):
    """The first page, DAG and parameters from S3: cold as the first request of a freshly
    started service (its caches empty), then cached."""
    s3_port, credentials_port = free_port(), free_port()
    (work / "s3").mkdir()
    server = subprocess.Popen(
        ["node", str(ROOT / "tests" / "datastore" / "s3_server.mjs"), "--port", str(s3_port),
         "--credentials-port", str(credentials_port), "--dir", str(work / "s3"),
         "--seed", str(work / "ds" / ".metaflow"), "--bucket", S3["bucket"],
         "--prefix", S3["prefix"], "--key-id", S3["key-id"], "--secret", S3["secret"]],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError("the S3 server did not start")
        s3_env = dict(env, METAFLOW_DATASTORE_SYSROOT_S3=f"s3://{S3['bucket']}/{S3['prefix']}",
                      METAFLOW_S3_ENDPOINT_URL=f"http://127.0.0.1:{s3_port}",
                      AWS_ACCESS_KEY_ID=S3["key-id"], AWS_SECRET_ACCESS_KEY=S3["secret"],
                      AWS_EC2_METADATA_DISABLED="true", PREFETCH_RUNS_LIMIT="0")
        s3_env.pop("METAFLOW_DATASTORE_SYSROOT_LOCAL", None)
        requests = {"log first page": FIRST_PAGE, "DAG": RUN + "/dag",
                    "parameters": RUN + "/parameters"}
        figures = {f"{name}, cold": [] for name in requests}
        for _ in range(options.cold):
            process, port = serve(options.binary, work, s3_env)
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                for name, target in requests.items():
                    figures[f"{name}, cold"].append(timed(connection, target))
            finally:
                stop(process)
        process, port = serve(options.binary, work, s3_env)
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            for name, target in requests.items():
                timed(connection, target)
                figures[f"{name}, cached"] = [timed(connection, target)
                                              for _ in range(options.cached)]
        finally:
            stop(process)
        return figures
    finally:
        server.terminate()
        server.wait(timeout=30)


def log_size_mb(lines):
    return sum(len(mflog_line(i)) for i in range(lines)) / 1e6


if __name__ == "__main__":
    sys.exit(main())
