#!/usr/bin/env python3
"""Realtime latency: write acknowledged to websocket frame received, under N sockets.

Starts `metadata-service serve` on SQLite (or on the PostgreSQL URL given) with its UI
listener, opens N websockets that each subscribe to the home page's resource (`/runs` with the
UI's time filter, and the bench's flow: client_mix's tasks update their own run, and the
server still reloads and filters those updates for every socket), then creates runs through
the metadata API one after the other and times, for every socket, the frame announcing each
run against the moment the write was acknowledged (a frame that comes before the
acknowledgement counts as 0). Optionally `wrk`'s client_mix script runs beside it as
background load. Prints the median and p99 in ms; then, to tell the server's share from the
client's, the fraction of frames the server wrote within 10, 25, 50 and 100 ms of the change
reaching it (its mf_ws_event_to_frame_seconds histogram), and the listening client's CPU time
per frame received.

The sockets belong to bench/ws_listener.cpp (--client cxx, the default; the build's
ws-latency-listener target, found as bench/ws-latency-listener beside --binary), one thread
that takes 11-21 us of CPU a frame; this script only writes, and also prints its
own CPU per frame (driver_cpu_us_per_frame). --client python listens with this script's
asyncio client instead, which took 111-212 us a frame: at 200 sockets, half of one of the
2 cores the server shares, enough to decide much of the p99.
With --idle-sockets N, then also opens N more websockets (this script's client) that each
subscribe and stay idle, and prints how much the server's resident memory grew (VmRSS, MiB).

  bench/ws_latency.py --binary build/metadata-service --sockets 200 --runs 100
  bench/ws_latency.py --binary build/metadata-service --sockets 200 --runs 100 --client-mix 16
  bench/ws_latency.py --binary build/metadata-service --sockets 200 --runs 100 --client python
  bench/ws_latency.py --binary build/metadata-service --sockets 0 --idle-sockets 2000
"""

import argparse
import asyncio
import base64
import http.client
import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebSocket:
    """The smallest client the service's /ws needs: text frames, masked as clients must."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port, timeout=30):
        """Fails after `timeout` seconds without the upgrade's answer, rather than waiting.
        Retries a 503 for a while: /ws opens once the service watches changes, which on
        PostgreSQL may come a moment after the API answers."""
        for _ in range(50):
            try:
                return await asyncio.wait_for(cls._connect(port), timeout)
            except RuntimeError as refused:
                if " 503 " not in str(refused).split("\r\n")[0]:
                    raise
                await asyncio.sleep(0.1)
        return await asyncio.wait_for(cls._connect(port), timeout)

    @classmethod
    async def _connect(cls, port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
             f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            writer.close()
            raise RuntimeError(head.decode(errors="replace"))
        return cls(reader, writer)

    def send(self, text):
        payload = text.encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        else:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(header + mask + masked)

    async def receive(self):
        first, second = await self.reader.readexactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", await self.reader.readexactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", await self.reader.readexactly(8))
        data = await self.reader.readexactly(length)
        if first & 0x0F == 0x8:
            raise ConnectionError("closed by the server")
        return data.decode()


def resident_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def idle_growth(args, ui_port, pid):
    """Resident memory before and after opening args.idle_sockets subscribed, idle sockets."""
    await asyncio.sleep(1)
    before = resident_mib(pid)
    since_ms = int(time.time() * 1000) - 30 * 86400 * 1000
    sockets = []
    for i in range(args.idle_sockets):
        ws = await WebSocket.connect(ui_port)
        ws.send(json.dumps({"type": "SUBSCRIBE", "uuid": f"idle-{i}",
                            "resource": f"/runs?ts_epoch%3Age={since_ms}"}))
        sockets.append(ws)
    # Every subscription read: a ping's pong follows them.
    for ws in sockets:
        ws.send("__ping__")
    for ws in sockets:
        while await ws.receive() != "__pong__":
            pass
    await asyncio.sleep(1)
    after = resident_mib(pid)
    for ws in sockets:
        ws.writer.close()
    return before, after


def post(port, path, body="{}"):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", path, body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    if response.status != 200:
        raise RuntimeError(f"POST {path}: {response.status} {payload!r}")
    return json.loads(payload)


def home_resource():
    """The home page's resource for the bench's flow, with the UI's 30-day time filter."""
    since_ms = int(time.time() * 1000) - 30 * 86400 * 1000
    return f"/runs?ts_epoch%3Age={since_ms}&flow_id=WsBench"


def write_runs(args, api_port):
    """Creates the runs one after the other; each run's number and when it was acknowledged."""
    post(api_port, "/flows/WsBench")
    acknowledged = {}
    for _ in range(args.runs):
        run = post(api_port, "/flows/WsBench/run")
        acknowledged[run["run_number"]] = time.monotonic()
        time.sleep(args.interval)
    return acknowledged


async def listen(ws, uuid, arrivals):
    while True:
        text = await ws.receive()
        if text == "__pong__":
            continue
        frame = json.loads(text)
        if frame.get("uuid") == uuid and frame.get("type") == "INSERT":
            arrivals.setdefault(frame["data"]["run_number"], []).append(time.monotonic())


async def measure_python(args, api_port, ui_port):
    """This process listens, on its event loop, while a thread of it writes."""
    sockets = []
    arrivals = {}
    resource = home_resource()
    for i in range(args.sockets):
        ws = await WebSocket.connect(ui_port)
        ws.send(json.dumps({"type": "SUBSCRIBE", "uuid": f"home-{i}", "resource": resource}))
        sockets.append(ws)
    listeners = [asyncio.create_task(listen(ws, f"home-{i}", arrivals))
                 for i, ws in enumerate(sockets)]
    await asyncio.sleep(1)
    cpu_before = time.process_time()
    acknowledged = await asyncio.get_running_loop().run_in_executor(None, write_runs, args,
                                                                    api_port)
    await asyncio.sleep(2)
    client_cpu = time.process_time() - cpu_before
    for task in listeners:
        task.cancel()
    return acknowledged, arrivals, client_cpu, None


def measure_cxx(args, api_port, ui_port):
    """bench/ws_listener.cpp listens; this process only writes."""
    listener = subprocess.Popen(
        [args.listener, "--port", str(ui_port), "--sockets", str(args.sockets), "--resource",
         home_resource()], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        if listener.stdout.readline() != "ready\n":
            raise RuntimeError(f"{args.listener} did not get ready: exit {listener.wait()}")
        cpu_before = time.process_time()
        acknowledged = write_runs(args, api_port)
        time.sleep(2)
        driver_cpu = time.process_time() - cpu_before
        listener.stdin.close()
        output = listener.stdout.read()
        if listener.wait() != 0:
            raise RuntimeError(f"{args.listener} failed: exit {listener.returncode}")
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()
    arrivals = {}
    client_cpu = None
    for line in output.splitlines():
        first, second = line.split()
        if first == "cpu_seconds":
            client_cpu = float(second)
        else:
            arrivals.setdefault(int(first), []).append(float(second))
    return acknowledged, arrivals, client_cpu, driver_cpu


def measure(args, api_port, ui_port):
    """Every frame's latency in ms, the frames missing, the listening client's CPU seconds and
    (with --client cxx) the writing script's."""
    acknowledged, arrivals, client_cpu, driver_cpu = (
        measure_cxx(args, api_port, ui_port) if args.client == "cxx"
        else asyncio.run(measure_python(args, api_port, ui_port)))
    latencies = []
    missing = 0
    for run_number, ack in acknowledged.items():
        times = arrivals.get(run_number, [])
        missing += args.sockets - len(times)
        latencies += [max(0.0, t - ack) * 1000 for t in times]
    return latencies, missing, client_cpu, driver_cpu


def server_within(api_port):
    """The fraction of frames the server wrote within 10, 25, 50 and 100 ms, from /metrics."""
    connection = http.client.HTTPConnection("127.0.0.1", api_port, timeout=30)
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    connection.close()
    counts = {}
    for line in text.splitlines():
        if line.startswith("mf_ws_event_to_frame_seconds_bucket"):
            counts[line.split('le="')[1].split('"')[0]] = float(line.split()[-1])
    total = counts.get("+Inf") or 1
    return " ".join(f"server_within_{ms}ms={counts[str(ms / 1000)] / total:.3f}"
                    for ms in (10, 25, 50, 100))


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default="build/metadata-service")
    parser.add_argument("--client", choices=("cxx", "python"), default="cxx",
                        help="who listens: bench/ws_listener.cpp, or this script's asyncio")
    parser.add_argument("--listener",
                        help="the C++ listener (default: bench/ws-latency-listener beside "
                             "--binary)")
    parser.add_argument("--database", help="a postgresql:// URL (default: a fresh SQLite file)")
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between writes")
    parser.add_argument("--client-mix", type=int, default=0,
                        help="wrk connections running bench/wrk/client_mix.lua beside (0: none)")
    parser.add_argument("--idle-sockets", type=int, default=0,
                        help="then the memory of this many idle subscribed sockets (0: none)")
    args = parser.parse_args()
    if not args.listener:
        args.listener = os.path.join(os.path.dirname(args.binary), "bench", "ws-latency-listener")
    if args.client == "cxx" and args.sockets and not os.access(args.listener, os.X_OK):
        parser.error(f"no listener at {args.listener}: build it (ninja -C build "
                     "ws-latency-listener), name it with --listener, or use --client python")

    workdir = tempfile.mkdtemp(prefix="mf-ws-bench-")
    api_port, ui_port = free_port(), free_port()
    database = args.database or f"sqlite:{workdir}/bench.db"
    server = subprocess.Popen(
        [args.binary, "serve", "--host", "127.0.0.1", "--port", str(api_port), "--ui-port",
         str(ui_port), "--migration-port", str(free_port()), "--database", database,
         "--log-level", "warning"],
        stdout=open(f"{workdir}/server.log", "w"), stderr=subprocess.STDOUT)
    wrk = None
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", api_port, timeout=1).request("GET", "/ping")
                break
            except OSError:
                time.sleep(0.1)
        if args.client_mix:
            # The run and step client_mix writes to (bench/wrk/common.lua's defaults).
            post(api_port, "/flows/BenchFlow")
            run = post(api_port, "/flows/BenchFlow/run")["run_number"]
            post(api_port, f"/flows/BenchFlow/runs/{run}/steps/mix/step")
            script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wrk", "client_mix.lua")
            wrk = subprocess.Popen(
                ["wrk", f"-t{args.client_mix}", f"-c{args.client_mix}", "-d600s", "-s", script,
                 f"http://127.0.0.1:{api_port}"], stdout=subprocess.DEVNULL,
                env=dict(os.environ, BENCH_RUN=str(run)))
            time.sleep(1)
        latencies, missing, client_cpu, driver_cpu = (
            measure(args, api_port, ui_port) if args.sockets else ([], 0, 0.0, None))
        if wrk:
            wrk.terminate()
            wrk.wait()
            wrk = None
        server_share = server_within(api_port) if args.sockets else ""
        if args.idle_sockets:
            before, after = asyncio.run(idle_growth(args, ui_port, server.pid))
            print(f"idle_sockets={args.idle_sockets} rss_before_mib={before:.1f} "
                  f"rss_after_mib={after:.1f} growth_mib={after - before:.1f}")
    finally:
        if wrk:
            wrk.terminate()
            wrk.wait()
        server.terminate()
        server.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    if not args.sockets:
        return 0
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("nan")
    print(f"client={args.client} sockets={args.sockets} runs={args.runs} "
          f"client_mix={args.client_mix} "
          f"frames={len(latencies)} missing={missing} "
          f"median_ms={statistics.median(latencies):.2f} p99_ms={p99:.2f} "
          f"max_ms={latencies[-1]:.2f} load_1min={os.getloadavg()[0]:.2f}")
    per_frame = max(1, len(latencies)) / 1e6
    driver_share = (f" driver_cpu_us_per_frame={driver_cpu / per_frame:.0f}"
                    if driver_cpu is not None else "")
    print(f"{server_share} client_cpu_us_per_frame={client_cpu / per_frame:.0f}{driver_share}")
    return 0 if missing == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
