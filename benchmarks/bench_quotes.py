"""Speed of the quotation and attribution pass (issue 29: it must cost under 5% of analyze).

Usage: python benchmarks/bench_quotes.py [--folder DIR] [--passes 3]

Reads every ``*.txt`` in the folder (default: ../shared/data/unlabeled-news, 400 articles),
then times :func:`propscan.ingest.quotes.find_quotations` over all of them, ``--passes`` times,
and prints the median pass: total seconds, ms per article, the slowest article, and how many
quotations of each kind were found. File reading is not timed. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import time
from pathlib import Path

from propscan.ingest.quotes import find_quotations

SHARED = Path(__file__).resolve().parents[2] / "shared"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=SHARED / "data" / "unlabeled-news")
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    paths = sorted(args.folder.glob("*.txt"))
    if not paths:
        raise SystemExit(f"no .txt files in {args.folder}")
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in paths]
    totals: list[float] = []
    slowest = (0.0, "")
    kinds: collections.Counter[str] = collections.Counter()
    for _ in range(max(1, args.passes)):
        kinds.clear()
        began = time.perf_counter()
        for path, text in zip(paths, texts, strict=True):
            one = time.perf_counter()
            kinds.update(q.kind for q in find_quotations(text))
            slowest = max(slowest, (time.perf_counter() - one, path.name))
        totals.append(time.perf_counter() - began)
    total = statistics.median(totals)
    chars = sum(map(len, texts))
    print(f"{len(texts)} articles, {chars / len(texts):,.0f} characters on average")
    print(f"find_quotations: {total:.3f} s total (median of {len(totals)} passes, range "
          f"{min(totals):.3f}-{max(totals):.3f}), {1000 * total / len(texts):.2f} ms/article "
          f"(fastest pass {1000 * min(totals) / len(texts):.2f}), "
          f"{1e6 * total / chars:.2f} us/character")
    print(f"slowest article: {1000 * slowest[0]:.1f} ms ({slowest[1]})")
    print("quotations per article: " + ", ".join(
        f"{kind} {count / len(texts):.1f}" for kind, count in sorted(kinds.items())))


if __name__ == "__main__":
    main()
