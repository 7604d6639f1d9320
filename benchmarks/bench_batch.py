"""Benchmark `propscan batch`: articles/s with 1 and 2 local workers, and its overhead over
ingesting and calling ``Pipeline.analyze_many`` in-process on the same articles.

    .venv/bin/python benchmarks/bench_batch.py [--articles DIR] [--limit N] [--no-detect]
                                            [--threads T]

With ``--threads T`` every process (the in-process baseline and each worker) uses T inference
threads, which isolates how the batch machinery scales from how the runtime uses cores.

Uses the PTC training articles by default (../shared/data/ptc-train/train-articles). Detection
runs when the bundled model is present; otherwise the figures cover ingestion only (said so).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from propscan.batch.engines import PipelineSettings
from propscan.batch.runner import run_batch
from propscan.batch.store import DuckDBStore
from propscan.errors import ModelError
from propscan.ingest import read_path
from propscan.pipeline import Pipeline

DEFAULT_ARTICLES = Path(__file__).resolve().parents[2] / "shared/data/ptc-train/train-articles"


def model_available() -> bool:
    try:
        Pipeline().load()
    except ModelError:
        return False
    return True


def bench_in_process(files: list[Path], detect: bool, threads: int | None) -> float:
    """Seconds to ingest and analyse every file in this process, the batch-free baseline."""
    pipeline = Pipeline(detect=detect, threads=threads).load()
    pipeline.analyze_many(read_path(files[0]))  # warm-up: lazy imports, language model
    started = time.perf_counter()
    articles = [a for f in files for a in read_path(f)]
    pipeline.analyze_many(articles)
    return time.perf_counter() - started


def bench_batch(corpus: Path, detect: bool, workers: int,
                threads: int | None) -> tuple[float, int]:
    """Seconds for a full `batch` run into a fresh DuckDB file (model loading included)."""
    with tempfile.TemporaryDirectory() as tmp, DuckDBStore(Path(tmp) / "b.duckdb") as store:
        started = time.perf_counter()
        summary = run_batch([corpus], store, PipelineSettings(detect=detect, threads=threads),
                            workers=workers,
                            chunk_size=32)
        return time.perf_counter() - started, summary.processed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=Path, default=DEFAULT_ARTICLES)
    parser.add_argument("--limit", type=int, default=None, help="use the first N files only")
    parser.add_argument("--no-detect", action="store_true", help="ingestion only")
    parser.add_argument("--threads", type=int, default=None,
                        help="inference threads per process (default: cores / workers)")
    args = parser.parse_args()
    files = sorted(args.articles.glob("*.txt"))[: args.limit]
    if not files:
        raise SystemExit(f"no .txt files under {args.articles}")
    detect = not args.no_detect and model_available()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp)
        for f in files:  # a private copy, so --limit applies to the batch runs too
            (corpus / f.name).symlink_to(f)
        print(f"{len(files)} articles from {args.articles}; detection "
              f"{'on' if detect else 'OFF (ingestion only)'}")
        baseline = bench_in_process(files, detect, args.threads)
        print(f"in-process analyze_many : {len(files) / baseline:7.1f} articles/s "
              f"({baseline:.2f} s)")
        rates = {}
        for workers in (1, 2):
            seconds, n = bench_batch(corpus, detect, workers, args.threads)
            rates[workers] = n / seconds
            print(f"batch --workers {workers}       : {n / seconds:7.1f} articles/s "
                  f"({seconds:.2f} s, {100 * (seconds - baseline) / baseline:+.0f}% vs "
                  "in-process)")
        print(f"scaling 2 workers / 1 worker: {rates[2] / rates[1]:.2f}x "
              f"(threads per process: {args.threads or 'cores / workers'})")

if __name__ == "__main__":
    main()
