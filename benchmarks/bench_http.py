"""HTTP evaluate under load: requests/s and p50/p95 latency with 1, 8 and 32 concurrent clients.

Starts `ntm serve` itself on a free loopback port, once with isolated engine workers (the default, one per CPU)
and once in-process (`--workers 0`), and posts the example commune with the example overlay
(`POST /api/v1/evaluate`, a 200 KB outcome) from keep-alive client threads. Goal (issue #14): 32 clients
≥ 500 requests/s with p95 ≤ 50 ms on 2 cores.

The clients run on the same machine and take CPU from the server (reading 200 KB JSON per request): the figures
are a lower bound for the server alone, and noisy on a shared machine.

    python benchmarks/bench_http.py [--seconds 8] [--clients 1,8,32] [--modes isolated,inprocess]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOSSIER = ROOT / "examples" / "xa-thieu-hai-tieu-chi.yaml"
OVERLAY = ROOT / "examples" / "overlays" / "tinh-minh-hoa.yaml"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(workers: int, tmp: str) -> tuple[subprocess.Popen, int]:
    port = _port()
    env = {**os.environ, "NTM_REGISTER": os.path.join(tmp, "reg.sqlite")}
    proc = subprocess.Popen([sys.executable, "-m", "ntm", "serve", "--port", str(port), "--overlay", str(OVERLAY),
                             "--workers", str(workers)], env=env, cwd=tmp, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/rulesets", timeout=2)
            return proc, port
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("ntm serve did not start") from None
            time.sleep(0.1)
    raise SystemExit("ntm serve did not answer")


def tree_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds used so far by the server and its engine workers (Linux /proc): a per-request cost that a
    busy shared machine does not inflate the way it inflates wall-clock latency."""
    tick = os.sysconf("SC_CLK_TCK")
    total = own = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            used = (int(fields[11]) + int(fields[12])) / tick
            total += used
            own += used if int(entry) == pid else 0.0
    return own, total


def load(port: int, body: bytes, clients: int, seconds: float, expect: bytes) -> dict:
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            conn.request("POST", "/api/v1/evaluate", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            mine.append((time.perf_counter() - t0) * 1000)
            if r.status != 200 or data != expect:
                with lock:
                    errors[0] += 1
        conn.close()
        with lock:
            lat.extend(mine)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    lat.sort()
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
    return {"clients": clients, "requests": len(lat), "rps": len(lat) / wall, "p50_ms": q[49], "p95_ms": q[94],
            "errors": errors[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--clients", default="1,8,32")
    ap.add_argument("--modes", default="isolated,inprocess")
    args = ap.parse_args()
    import tempfile

    from ntm.engine.evaluate import evaluate_file, to_json

    expect = to_json(evaluate_file(str(DOSSIER), overlay=str(OVERLAY))).encode("utf-8")
    body = json.dumps({"dossier_text": DOSSIER.read_text(encoding="utf-8"), "overlay": "tinh-minh-hoa"}).encode()
    from ntm.batch.pool import cpu_count

    modes = {"isolated": cpu_count(), "inprocess": 0}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in args.modes.split(","):
            proc, port = start(modes[mode], tmp)
            try:
                load(port, body, 2, 2.0, expect)  # warm: every worker compiles the ruleset once
                for c in (int(x) for x in args.clients.split(",")):
                    own0, cpu0 = tree_cpu(proc.pid)
                    r = load(port, body, c, args.seconds, expect)
                    own1, cpu1 = tree_cpu(proc.pid)
                    r["cpu_ms"] = (cpu1 - cpu0) * 1000 / max(1, r["requests"])
                    r["server_ms"] = (own1 - own0) * 1000 / max(1, r["requests"])
                    r["mode"] = f"{mode} ({modes[mode]} workers)" if modes[mode] else "in-process"
                    rows.append(r)
                    print(f"  {r['mode']:<22} {c:>3} clients: {r['rps']:7.1f} req/s  p50 {r['p50_ms']:7.1f} ms  "
                          f"p95 {r['p95_ms']:7.1f} ms  server CPU {r['cpu_ms']:5.1f} ms/request  ({r['requests']} requests, "
                          f"{r['errors']} wrong)",
                          file=sys.stderr, flush=True)
            finally:
                proc.terminate()
                proc.wait(15)
    print(f"HTTP evaluate (POST /api/v1/evaluate, {len(expect) // 1024} KB outcome, {cpu_count()} CPUs, "
          f"{args.seconds:g} s per cell; goal at 32 clients: ≥ 500 req/s, p95 ≤ 50 ms)")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (other processes share the CPUs)")
    print("CPU ms/req: the server process and its engine workers together; of which in the server process")
    print(f"{'server':<24}{'clients':>8}{'req/s':>10}{'p50 ms':>10}{'p95 ms':>10}{'CPU ms/req':>12}"
          f"{'(server)':>10}{'requests':>10}{'wrong':>7}")
    for r in rows:
        print(f"{r['mode']:<24}{r['clients']:>8}{r['rps']:>10.1f}{r['p50_ms']:>10.1f}{r['p95_ms']:>10.1f}"
              f"{r['cpu_ms']:>12.1f}{r['server_ms']:>10.1f}{r['requests']:>10}{r['errors']:>7}")


if __name__ == "__main__":
    main()
