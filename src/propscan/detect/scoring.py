"""Article-level figures from detected spans, with percentiles against reference corpora.

Two reference files in ``stats/`` hold quantiles of the same figures over (a) the PTC training
articles and (b) 400 unlabelled news articles; ``train.reference_stats`` makes them. The first is
propaganda-rich, the second ordinary news, so together they place an article on a scale. (The
news articles are also the model's self-training articles, labelled by its teacher only.)
"""

from __future__ import annotations

import bisect
import json
from functools import cache
from pathlib import Path
from typing import Any

from propscan.doc import Article
from propscan.techniques import TECHNIQUE_NAMES

__all__ = ["score_article", "article_figures", "STATS_DIR", "REFERENCES", "REFERENCE_LABELS",
           "SHORT_TEXT_WORDS"]

STATS_DIR = Path(__file__).parent / "stats"
#: reference name -> stats file name
REFERENCES = {"ptc_train": "ptc_train.json", "unlabeled_news": "unlabeled_news.json"}
#: reference name -> how a reader should see it named
REFERENCE_LABELS = {"ptc_train": "PTC training articles", "unlabeled_news": "everyday news"}
#: Under this many body words one fragment more or less moves the rate by more than 6.7 per
#: 1,000 words: about half the spread between the quartiles of everyday news (3.1 and 18.7 in
#: stats/unlabeled_news.json of the 2026-11-26 model), so an article's figures and ranks are
#: rough. Reports say so, and corpus rankings leave such articles out.
SHORT_TEXT_WORDS = 150


def _body_bounds(article: Article) -> tuple[int, int]:
    if article.body_end > article.body_start:
        return article.body_start, article.body_end
    return 0, len(article.text)  # hand-built article without layout: the whole text


def article_figures(article: Article, voice: str | None = None) -> dict[str, dict[str, float]]:
    """Spans per 1,000 words and share of body characters covered, overall and per technique;
    ``voice`` (``"author"`` or ``"quoted"``) counts only the findings in that voice."""
    body_start, body_end = _body_bounds(article)
    words = article.word_count  # the one word count (batch's n_words is the same)
    body_len = max(1, body_end - body_start)

    def figures(spans: list) -> dict[str, float]:
        covered = 0
        last = body_start
        for s in sorted(spans, key=lambda sp: sp.start):  # union of spans clipped to the body
            start, end = max(s.start, last), min(s.end, body_end)
            if end > start:
                covered += end - start
                last = end
        return {"spans": len(spans),
                "per_1000_words": round(1000 * len(spans) / words, 3) if words else 0.0,
                "coverage": round(covered / body_len, 4)}

    findings = [f for f in article.spans if voice is None or f.voice == voice]
    out = {"overall": figures(findings)}
    for name in TECHNIQUE_NAMES:
        out[name] = figures([f for f in findings if f.technique == name])
    out["overall"]["words"] = words
    return out


@cache
def _reference(name: str) -> dict[str, Any] | None:
    path = STATS_DIR / REFERENCES[name]
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def _percentile(quantiles: list[float], value: float) -> float:
    """Mid-rank percentile (0-100) of ``value`` among the reference quantiles.

    Ties count half, so an article with no span of a technique that most reference articles
    also lack sits in the middle of those articles, not at the 100th percentile.
    """
    if not quantiles:
        return 0.0
    below = bisect.bisect_left(quantiles, value)
    at_or_below = bisect.bisect_right(quantiles, value)
    return round(100.0 * (below + at_or_below) / 2 / len(quantiles), 1)


def score_article(article: Article) -> dict[str, Any]:
    """The article-level scores stored in ``Article.scores`` (JSON-ready)."""
    figures = article_figures(article)
    percentiles: dict[str, Any] = {}
    for ref in REFERENCES:
        data = _reference(ref)
        if data is None:
            continue
        percentiles[ref] = {
            key: {metric: _percentile(data["quantiles"][key][metric], figures[key][metric])
                  for metric in ("per_1000_words", "coverage")}
            for key in figures if key in data["quantiles"]
        }
    figures["overall"]["short_text"] = figures["overall"]["words"] < SHORT_TEXT_WORDS
    # the same figures over the author's own voice (findings outside reported speech), so an
    # article that quotes propagandists faithfully need not score like propaganda
    author = article_figures(article, voice="author")["overall"]
    return {
        "overall": figures["overall"],
        "author": author,
        "techniques": {k: v for k, v in figures.items() if k != "overall" and v["spans"]},
        "percentiles": percentiles,
    }
