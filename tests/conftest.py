"""Shared fixtures: where the research data lives (beside the checkout, never inside it)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
EXAMPLE = SHARED / "examples" / "000_5b4fd3b5d3f3f23c.txt"
PTC_ARTICLES = SHARED / "data" / "ptc-train" / "train-articles"
INVENTED_EXAMPLE = REPO / "src" / "propscan" / "examples" / "invented_article.txt"


@pytest.fixture(scope="session")
def shared_example() -> Path:
    if not EXAMPLE.exists():
        pytest.skip("../shared is not beside the checkout")
    return EXAMPLE


@pytest.fixture(scope="session")
def ptc_articles() -> Path:
    if not PTC_ARTICLES.is_dir():
        pytest.skip("../shared/data/ptc-train is not beside the checkout")
    return PTC_ARTICLES
