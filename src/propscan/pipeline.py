"""The core: ingest -> detect -> score, over the shared document model.

Shells (cli, web, batch) build a :class:`Pipeline` once, load it, and call :meth:`analyze`.
Nothing heavy happens at construction; :meth:`load` loads the model.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from propscan.doc import Article

__all__ = ["Pipeline"]


class Pipeline:
    """Runs detection and article scoring on ingested articles.

    Parameters
    ----------
    model_dir:
        Directory of a trained model; ``None`` uses the model shipped in the package.
    threads:
        Threads for inference (onnxruntime intra-op threads); ``None`` lets the runtime decide.
    detect:
        ``False`` skips detection (ingestion and metadata only), for ``--no-detect``.
    """

    def __init__(self, *, model_dir: Path | None = None, threads: int | None = None,
                 detect: bool = True) -> None:
        self.model_dir = model_dir
        self.threads = threads
        self.detect = detect
        self.detector_ = None

    def load(self) -> Pipeline:
        """Load the detection model (once); returns ``self``."""
        if self.detect and self.detector_ is None:
            from propscan.detect import Detector

            self.detector_ = Detector(model_dir=self.model_dir, threads=self.threads).load()
        return self

    def analyze(self, article: Article) -> Article:
        """Detect spans in one ingested article and score it; returns the same article."""
        return self.analyze_many([article])[0]

    def analyze_many(self, articles: Iterable[Article]) -> list[Article]:
        """Detect and score a batch of ingested articles (batched inference)."""
        articles = list(articles)
        if self.detect:
            from propscan.detect.scoring import score_article

            self.load()
            self.detector_.detect(articles)
            for article in articles:
                article.scores = score_article(article)
        return articles

    @property
    def model_info(self) -> dict:
        """Name and version of the loaded model, for provenance (batch ``runs`` table)."""
        return self.detector_.info if self.detector_ is not None else {}
