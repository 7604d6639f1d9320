"""Load check for the HTTP API: start a server, send N analyze requests C at a time, print latency.

    .venv/bin/python scripts/loadcheck.py                 # 200 requests, 8 at a time
    .venv/bin/python scripts/loadcheck.py --url http://127.0.0.1:8000   # an already running server

Prints p50/p90/p99 latency, throughput and the status codes seen. Without a model the server
answers 503 and the figures measure only the HTTP layer (the script says so).
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TEXT = REPO.parent / "shared" / "examples" / "000_5b4fd3b5d3f3f23c.txt"
FALLBACK_TEXT = ("Leaders Meet\n\nThe so-called experts have failed us again. Everyone knows the "
                 "truth: this disastrous plan will destroy our great nation. Enough is enough!")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "propscan.web.app:create_app",
           "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
           "--no-access-log"]
    return subprocess.Popen(cmd, cwd=REPO)


def wait_ready(url: str, timeout_s: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            r = httpx.get(url + "/healthz", timeout=2)
            if r.status_code == 200:
                return r.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"error: server at {url} did not become ready in {timeout_s:.0f} s")


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, round(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--text", type=Path, default=None,
                    help="article to send (default: the shared example)")
    ap.add_argument("--url", default=None, help="use a running server instead of starting one")
    args = ap.parse_args()

    path = args.text or DEFAULT_TEXT
    text = path.read_text(encoding="utf-8") if path.exists() else FALLBACK_TEXT
    proc = None
    url = args.url
    if url is None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(port)
    try:
        health = wait_ready(url)
        if not health.get("model_loaded"):
            print(f"note: model not loaded ({health.get('model_error')}); requests get 503, "
                  "so these figures measure the HTTP layer only")
        client = httpx.Client(timeout=120, limits=httpx.Limits(
            max_connections=args.concurrency))
        client.post(url + "/api/v1/analyze", json={"text": text})  # warm-up

        def one(_: int) -> tuple[int, float]:
            t0 = time.perf_counter()
            r = client.post(url + "/api/v1/analyze", json={"text": text})
            return r.status_code, time.perf_counter() - t0

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            results = list(pool.map(one, range(args.requests)))
        wall = time.perf_counter() - t0
        client.close()
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)

    latencies = sorted(lat * 1000 for _, lat in results)
    statuses = Counter(status for status, _ in results)
    print(f"{args.requests} requests, {args.concurrency} concurrent, {len(text):,} chars each")
    print(f"status codes: {dict(sorted(statuses.items()))}")
    print(f"latency ms: p50 {percentile(latencies, 50):.1f}  p90 {percentile(latencies, 90):.1f}"
          f"  p99 {percentile(latencies, 99):.1f}  mean {statistics.fmean(latencies):.1f}")
    print(f"throughput: {args.requests / wall:.1f} requests/s over {wall:.1f} s")


if __name__ == "__main__":
    main()
