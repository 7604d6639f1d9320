"""Load check of the HTTP API, on this machine only: N requests K at a time, then a small
request racing a large one.

    .venv/bin/python benchmarks/loadcheck.py                  # 200 requests, 8 at a time
    .venv/bin/python benchmarks/loadcheck.py --url http://127.0.0.1:8000   # a running server

Starts ``propscan serve`` on a free loopback port (unless ``--url`` names a running one, which
must be a loopback address), and prints the requests sent, the errors, p50/p95 latency, and the
latency of a small article sent while a large one is being analysed. Bounded: at most 2,000
requests, 32 at a time, and ``--max-seconds`` in all; requests not sent in time are counted
as skipped. Without a model the server answers 503 and the figures measure the HTTP layer.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
DEFAULT_TEXT = REPO.parent / "shared" / "examples" / "000_5b4fd3b5d3f3f23c.txt"
FALLBACK_TEXT = ("Leaders Meet\n\nThe so-called experts have failed us again. Everyone knows the "
                 "truth: this disastrous plan will destroy our great nation. Enough is enough!")
SMALL_TEXT = ("Budget Talks\n\nThe officials met on Tuesday to discuss the new budget. They "
              "agreed on most points and will meet again next month to finish the work.")
MAX_REQUESTS, MAX_CONCURRENCY = 2000, 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def check_loopback(url: str) -> str:
    """``url`` when it names this machine; the script never sends load anywhere else."""
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if urlsplit(url).scheme != "http" or not loopback:
        raise SystemExit(f"error: --url must be http:// on a loopback address, got {url!r}")
    return url.rstrip("/")


def start_server(port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "propscan", "serve", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(cmd, cwd=REPO, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def get_json(url: str, timeout: float = 5) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.load(r)


def wait_ready(url: str, deadline: float) -> dict:
    while time.monotonic() < deadline:
        try:
            return get_json(url + "/healthz", timeout=2)
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"error: server at {url} did not become ready in time")


def post(url: str, text: str, deadline: float) -> tuple[int | str, float]:
    """(status code or error name, seconds); ``"skipped"`` past the deadline."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return "skipped", 0.0
    request = urllib.request.Request(url + "/api/v1/analyze", data=json.dumps(
        {"text": text}).encode(), headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=remaining) as r:
            r.read()
            status: int | str = r.status
    except urllib.error.HTTPError as err:
        status = err.code
    except OSError as err:
        status = type(err).__name__
    return status, time.perf_counter() - t0


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list (0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(1, round(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def race(url: str, large_text: str, deadline: float) -> None:
    """A small request sent once the large one is being analysed."""
    result: dict[str, tuple[int | str, float]] = {}
    big = threading.Thread(target=lambda: result.update(large=post(url, large_text, deadline)))
    big.start()
    while time.monotonic() < deadline and big.is_alive():
        lanes = get_json(url + "/healthz").get("analyses", {})
        if lanes.get("large", {}).get("running"):
            break
        time.sleep(0.05)
    small = post(url, SMALL_TEXT, deadline)
    large_still_running = big.is_alive()
    big.join(max(0.0, deadline - time.monotonic()))
    large = result.get("large", ("not finished", float("nan")))
    print(f"race: small request {small[0]} in {small[1] * 1000:.0f} ms "
          f"({'while' if large_still_running else 'after'} the large one ran); "
          f"large request ({len(large_text):,} chars) {large[0]} in {large[1]:.1f} s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=200, help=f"at most {MAX_REQUESTS}")
    ap.add_argument("--concurrency", type=int, default=8, help=f"at most {MAX_CONCURRENCY}")
    ap.add_argument("--large-copies", type=int, default=40,
                    help="the race's large article: the article repeated this many times")
    ap.add_argument("--max-seconds", type=float, default=300.0, help="bound on the whole run")
    ap.add_argument("--text", type=Path, default=None,
                    help="article to send (default: the shared example)")
    ap.add_argument("--url", default=None, help="a running server on a loopback address")
    args = ap.parse_args()
    if not (1 <= args.requests <= MAX_REQUESTS and 1 <= args.concurrency <= MAX_CONCURRENCY):
        raise SystemExit(f"error: --requests must be 1..{MAX_REQUESTS} and --concurrency "
                         f"1..{MAX_CONCURRENCY}")
    deadline = time.monotonic() + args.max_seconds
    path = args.text or DEFAULT_TEXT
    text = path.read_text(encoding="utf-8") if path.exists() else FALLBACK_TEXT
    proc = None
    if args.url is None:
        url = f"http://127.0.0.1:{free_port()}"
        proc = start_server(int(url.rsplit(":", 1)[1]))
    else:
        url = check_loopback(args.url)
    try:
        health = wait_ready(url, min(deadline, time.monotonic() + 120))
        if not health.get("model_loaded"):
            print(f"note: model not loaded ({health.get('model_error')}); requests get 503, "
                  "so these figures measure the HTTP layer only")
        post(url, text, deadline)  # warm-up
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            results = list(pool.map(lambda _: post(url, text, deadline), range(args.requests)))
        wall = time.perf_counter() - t0
        statuses = Counter(status for status, _ in results)
        latencies = sorted(lat * 1000 for status, lat in results if status != "skipped")
        errors = sum(n for status, n in statuses.items() if status not in (200, "skipped"))
        print(f"requests: {args.requests} ({len(text):,} chars each), {args.concurrency} at a "
              f"time, {statuses.get('skipped', 0)} skipped at the time bound")
        print(f"errors: {errors}  status codes: "
              f"{dict(sorted(statuses.items(), key=lambda kv: str(kv[0])))}")
        print(f"latency ms: p50 {percentile(latencies, 50):.0f}  "
              f"p95 {percentile(latencies, 95):.0f}  max {max(latencies, default=0):.0f}  "
              f"throughput {len(latencies) / wall:.1f} requests/s over {wall:.1f} s")
        race(url, " ".join([text] * args.large_copies), deadline)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
