"""Time of ``propscan adapt`` on about 70 reviewed articles on this machine (issue 24: under 5
minutes on 2 cores without ``--fine-tune``).

Usage: python benchmarks/bench_adapt.py [--data ../shared/data/ptc-train] [--articles 70]
       [--fine-tune]

The first ``--articles`` PTC training articles (by id) play the reviewed material: ``propscan
corrections import`` analyses them and stores their gold, then ``propscan adapt`` runs as a
user runs it, with the default PTC mix (as many other PTC articles), with ``--no-ptc``, and
with ``--fine-tune`` when asked (minutes per fold). Each command's wall time is printed with the
articles' words. The shipped tagger learned these articles, so the figures ``adapt`` prints
here are in-sample and mean nothing; only the times count (they depend little on that).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"


def timed(*args: str) -> float:
    """Wall seconds of ``python -m propscan ARGS``; its output is left out unless it fails."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "propscan", *args], capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise SystemExit(f"propscan {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=SHARED / "data" / "ptc-train")
    parser.add_argument("--articles", type=int, default=70)
    parser.add_argument("--fine-tune", action="store_true", help="also time --fine-tune")
    args = parser.parse_args()
    paths = sorted((args.data / "train-articles").glob("article*.txt"))[:args.articles]
    labels = args.data / "train-task-flc-tc.labels"
    if not paths or not labels.is_file():
        raise SystemExit(f"expected train-articles/ and {labels.name} in {args.data}")
    words = sum(len(p.read_text(encoding="utf-8").split()) for p in paths)
    print(f"{len(paths)} articles, {words:,} words")
    with tempfile.TemporaryDirectory(prefix="propscan-bench-adapt-") as tmp:
        folder, db = Path(tmp) / "articles", Path(tmp) / "reviewed.duckdb"
        folder.mkdir()
        for path in paths:
            shutil.copy(path, folder)
        seconds = timed("corrections", "import", "--db", str(db), "--articles", str(folder),
                        "--labels", str(labels))
        print(f"corrections import (analyses them): {seconds:.0f} s")
        runs = {"adapt (PTC mix, the default)": ["--with-ptc", str(args.data)],
                "adapt --no-ptc": ["--no-ptc"]}
        if args.fine_tune:
            runs["adapt --fine-tune"] = ["--fine-tune"]
        for name, extra in runs.items():
            out = Path(tmp) / name.replace(" ", "_")
            seconds = timed("adapt", "--db", str(db), "-o", str(out), "--force", *extra)
            print(f"{name}: {seconds:.0f} s")


if __name__ == "__main__":
    main()
