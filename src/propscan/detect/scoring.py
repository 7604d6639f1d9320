"""Article-level figures from detected spans, with percentiles against reference corpora.

Two reference files in ``stats/`` hold quantiles of the same figures over (a) the PTC training
articles and (b) 400 unlabelled news articles; ``scripts/make_stats.py`` makes them. The first is
propaganda-rich, the second ordinary news, so together they place an article on a scale. (The
news articles are also the model's self-training articles, labelled by its teacher only.)
"""

from __future__ import annotations

import bisect
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from propscan.doc import Article
from propscan.techniques import TECHNIQUE_NAMES

__all__ = ["score_article", "article_figures", "ordinal", "short_text_note", "STATS_DIR",
           "REFERENCES", "REFERENCE_LABELS", "SHORT_TEXT_WORDS"]

STATS_DIR = Path(__file__).parent / "stats"
#: reference name -> stats file name
REFERENCES = {"ptc_train": "ptc_train.json", "unlabeled_news": "unlabeled_news.json"}
#: reference name -> how a reader should see it named
REFERENCE_LABELS = {"ptc_train": "PTC training articles", "unlabeled_news": "everyday news"}
_WORD = re.compile(r"\w+")
#: Under this many body words one fragment more or less moves the rate by more than 6.7 per
#: 1,000 words: about half the spread between the quartiles of everyday news (3.1 and 18.7 in
#: stats/unlabeled_news.json of the 2026-11-26 model), so an article's figures and ranks are
#: rough. Reports say so, and corpus rankings leave such articles out.
SHORT_TEXT_WORDS = 150


def _body_bounds(article: Article) -> tuple[int, int]:
    if article.body_end > article.body_start:
        return article.body_start, article.body_end
    return 0, len(article.text)  # hand-built article without layout: the whole text


def article_figures(article: Article) -> dict[str, dict[str, float]]:
    """Spans per 1,000 words and share of body characters covered, overall and per technique."""
    body_start, body_end = _body_bounds(article)
    words = len(_WORD.findall(article.clean_text or article.text[body_start:body_end]))
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

    out = {"overall": figures(article.spans)}
    for name in TECHNIQUE_NAMES:
        out[name] = figures([s for s in article.spans if s.technique == name])
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
    return {
        "overall": figures["overall"],
        "techniques": {k: v for k, v in figures.items() if k != "overall" and v["spans"]},
        "percentiles": percentiles,
    }


def short_text_note(words: int) -> str | None:
    """The caution a report shows beside the figures of an article under
    :data:`SHORT_TEXT_WORDS` body words; None for longer ones."""
    if words >= SHORT_TEXT_WORDS:
        return None
    if words <= 0:
        return "No words in the body: there are no rates to compare."
    return (f"Only {words} word{'' if words == 1 else 's'}: one fragment more or less moves "
            f"the rate by {1000 / words:.1f} per 1,000 words, so under {SHORT_TEXT_WORDS} words "
            "these figures and ranks are rough.")


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 92nd, 100th (percentile ranks as words)."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
