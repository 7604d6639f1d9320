"""Speed of the corpus explorer on a synthetic batch database (``make bench-explorer``).

Builds a DuckDB store of N articles (random outlets, dates, languages, lengths; a few findings
each; short texts) through the batch schema in a temporary folder, then times the list, the
stats, the charts and an article open through the real app (TestClient, http://127.0.0.1).
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from propscan.batch.engines import Result
from propscan.batch.store import DuckDBStore
from propscan.corpus.database import CorpusDatabase
from propscan.doc import Finding
from propscan.pipeline import Pipeline
from propscan.techniques import TECHNIQUE_NAMES
from propscan.web.app import create_app

WORDS = ["the", "minister", "said", "corrupt", "elites", "will", "destroy", "our", "great",
         "nation", "again", "today"]


def build(path: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    outlets = [f"Outlet {i}" for i in range(120)] + ["outlet 1.", "OUTLET-2"]
    with DuckDBStore(path) as store:
        run = store.start_run(["synthetic"])
        store.set_model(run, {"name": "bench", "version": "0"})
        for chunk in range(0, n, 5000):
            results = []
            for i in range(chunk, min(n, chunk + 5000)):
                body = " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 120)))
                title = f"Article {i} " + " ".join(rng.sample(WORDS, 3))
                text = f"{title}\n\n{body}"
                start = len(title) + 2
                spans = []
                for _ in range(rng.randint(0, 4)):
                    a = rng.randrange(start, len(text) - 10)
                    spans.append(Finding(a, a + 8, rng.choice(TECHNIQUE_NAMES),
                                         rng.random(), text[a:a + 8]))
                published = date(2019, 1, 1) + timedelta(days=rng.randrange(6 * 365))
                results.append(Result(
                    id=f"https://example.org/{i}", source=f"{i}.txt", status="ok",
                    title=title, published=published.isoformat(),
                    outlet=rng.choice(outlets), language=rng.choice(["en"] * 9 + ["de"]),
                    n_words=len(body.split()), analysed=True, text=text, body_start=start,
                    body_end=len(text), scores={"n": len(spans)}, spans=spans))
            store.write(results, run)
        store.finish_run(run, n, 0, 0)


def timed(client: TestClient, url: str, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        r = client.get(url)
        times.append(time.perf_counter() - t)
        assert r.status_code == 200, (url, r.text[:200])
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.duckdb"
        t = time.perf_counter()
        build(path, args.articles)
        print(f"built {args.articles:,} articles in {time.perf_counter() - t:.1f} s")
        app = create_app(pipeline=Pipeline(detect=False), corpus=CorpusDatabase(path),
                         read_only=True)
        urls = {
            "list (default)": "/corpus",
            "list, sort by rate": "/corpus?sort=rate&order=desc",
            "list, outlet + technique": "/corpus?outlet=outlet+1&technique=Loaded_Language",
            "list, title words": "/corpus?q=minister+elites",
            "list, page 100": "/corpus?offset=5000&limit=50",
            "api articles": "/api/v1/corpus/articles?technique=Doubt&sort=findings",
            "stats by month": "/api/v1/corpus/stats?by=month",
            "stats by outlet": "/api/v1/corpus/stats?by=outlet&top=20",
            "stats by technique": "/api/v1/corpus/stats?by=technique",
            "charts page": "/corpus/charts",
            "compare page": "/corpus/compare?a_outlet=Outlet+3&b_outlet=Outlet+4",
            "article open": "/corpus/articles/https%3A%2F%2Fexample.org%2F4242",
            "article open, filtered": "/corpus/articles/https%3A%2F%2Fexample.org%2F4242"
                                      "?sort=rate&order=desc",
            "article API": "/api/v1/corpus/articles/https%3A%2F%2Fexample.org%2F4242",
        }
        with TestClient(app, base_url="http://127.0.0.1") as client:
            for name, url in urls.items():
                median, worst = timed(client, url, args.repeat)
                print(f"{name:28s} median {median * 1000:7.1f} ms   max {worst * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
