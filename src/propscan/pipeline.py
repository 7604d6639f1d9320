"""The core: ingest -> detect -> score, over the shared document model.

Every shell (cli, web, batch) builds one :class:`Pipeline`, loads it, and hands it what it got:
a path (:meth:`Pipeline.analyze_path`), bytes with a name (:meth:`Pipeline.analyze_bytes`) or a
record (:meth:`Pipeline.analyze_record`). Which reader a file needs is decided once, in
:mod:`propscan.ingest` (its table of formats is :mod:`propscan.ingest.formats`); no shell picks
its own ingestion. Nothing heavy happens at construction; :meth:`Pipeline.load` loads the model.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from propscan import ingest
from propscan.doc import Article
from propscan.errors import ConfigError
from propscan.ingest.quotes import voice_at

if TYPE_CHECKING:
    from propscan.detect import Detector
    from propscan.detect.semeval import SemevalModel

__all__ = ["Pipeline", "DEFAULT_MIN_CONFIDENCE", "NOT_ANALYSED_LANGUAGE"]

#: Findings under this calibrated confidence are dropped by default: at 0.05 about one in
#: twenty such fragments is a real finding of its technique (see MODEL_CARD, calibration).
DEFAULT_MIN_CONFIDENCE = 0.05
#: Why an article in another language gets no findings (shown by every renderer).
NOT_ANALYSED_LANGUAGE = ("not analysed for techniques: the article's language is {lang!r} and "
                         "the detector reads English only")
_CHUNK = 16  # articles analysed together: the detector batches windows across them


class Pipeline:
    """Ingests inputs, detects techniques and scores articles.

    Parameters
    ----------
    model_dir:
        Directory of a trained model; ``None`` uses the model shipped in the package.
    threads:
        Inference threads; ``None`` uses every core this process may run on.
    detect:
        ``False`` skips detection (ingestion and metadata only), for ``--no-detect``.
    min_confidence:
        Findings below this calibrated confidence are dropped (0 keeps every finding).
    """

    def __init__(self, *, model_dir: Path | None = None, threads: int | None = None,
                 detect: bool = True, min_confidence: float = DEFAULT_MIN_CONFIDENCE) -> None:
        if not 0.0 <= min_confidence <= 1.0:
            raise ConfigError("The 'min_confidence' parameter of Pipeline must be between 0 "
                              f"and 1. Got {min_confidence} instead.")
        self.model_dir = model_dir
        self.threads = threads
        self.detect = detect
        self.min_confidence = min_confidence
        self.detector_: Detector | None = None
        self.semeval_: SemevalModel | None = None

    def load(self) -> Pipeline:
        """Load the detection model (once); returns ``self``."""
        if self.detect and self.detector_ is None:
            from propscan.detect import Detector
            from propscan.detect.semeval import load_semeval_model

            self.detector_ = Detector(model_dir=self.model_dir, threads=self.threads).load()
            self.semeval_ = load_semeval_model(self.detector_.model_dir)
        return self

    def close(self) -> None:
        """Release the model (its worker threads and inference session)."""
        if self.detector_ is not None:
            self.detector_.close()
            self.detector_ = None

    def __enter__(self) -> Pipeline:
        return self.load()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- what the shells call ---------------------------------------------------------------
    def analyze_path(self, path: str | Path, *, input_format: str | None = None
                     ) -> Iterator[Article]:
        """Analyse a file (``"-"``: standard input); a record file yields one article per
        record, 16 at a time, so results come while the rest is still being read."""
        yield from self.analyze_stream(ingest.iter_path(path, input_format))

    def analyze_bytes(self, data: bytes, *, name: str | None = None,
                      input_format: str | None = None) -> list[Article]:
        """Analyse one input's bytes (an upload, a file read elsewhere)."""
        return self.analyze_many(ingest.iter_bytes(data, name=name, input_format=input_format))

    def analyze_record(self, record: Mapping[str, Any], *, source: str | None = None
                       ) -> Article:
        """Analyse a record: ``text`` or ``html`` plus optional metadata (see the README)."""
        return self.analyze(ingest.from_record(dict(record), source=source))

    # ---- over ingested articles -----------------------------------------------------------
    def analyze(self, article: Article) -> Article:
        """Detect findings in one ingested article and score it; returns the same article."""
        return self.analyze_many([article])[0]

    def analyze_stream(self, articles: Iterable[Article]) -> Iterator[Article]:
        """:meth:`analyze_many` over an iterable, 16 articles at a time."""
        iterator = iter(articles)
        while chunk := list(islice(iterator, _CHUNK)):
            yield from self.analyze_many(chunk)

    def analyze_many(self, articles: Iterable[Article]) -> list[Article]:
        """Detect and score a batch of ingested articles (batched inference).

        Articles in another language than English are not analysed: they keep no findings
        and say why in ``warnings``; their ``analysed`` flag stays False.
        """
        articles = list(articles)
        if not self.detect:
            return articles
        from propscan.detect.scoring import score_article

        english = []
        for article in articles:
            language = article.meta.language
            if language and language != "en":
                article.warnings.append(NOT_ANALYSED_LANGUAGE.format(lang=language))
            else:
                english.append(article)
        if english:
            self.load()
            assert self.detector_ is not None
            self.detector_.detect(english)
        info = self.detector_.info if self.detector_ is not None else {}
        for article in english:
            article.spans = [f for f in article.spans if f.confidence >= self.min_confidence]
            if self.semeval_ is not None:  # SemEval-2023 names beside the PTC-14 ones
                self.semeval_.label(article.text, article.spans)
            for finding in article.spans:
                finding.voice, finding.speaker = voice_at(article.quotations, finding.start,
                                                          finding.end)
            article.scores = score_article(article)
            article.analysed = True
            article.model = {"name": str(info.get("name", "")),
                             "version": str(info.get("version", ""))}
        return articles

    @property
    def model_info(self) -> dict[str, Any]:
        """Name and version of the loaded model, for provenance (batch ``runs`` table)."""
        info = dict(self.detector_.info) if self.detector_ is not None else {}
        if info:
            info["min_confidence"] = self.min_confidence
        return info
