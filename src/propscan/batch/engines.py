"""Batch engines: where records are ingested and analysed.

The unit of work everywhere is :func:`process_records` (a chunk of raw records and a loaded
pipeline in, a list of :class:`Result` rows out); a record that fails becomes an error Result
and the chunk goes on. Engines only decide where chunks run:

* :func:`run_local` with ``workers=1``: in this process;
* :func:`run_local` with ``workers>1``: a ``ProcessPoolExecutor`` whose initializer loads the
  model once per worker process;
* :func:`run_dask`: tasks on a ``dask.distributed`` cluster, the model cached once per worker.

Every engine yields result chunks back to the caller, the single writer of the store.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Generator, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from propscan.batch.readers import RawRecord
from propscan.doc import Article, Finding
from propscan.errors import ConfigError, EmptyInput, InvalidRecord, PropscanError
from propscan.pipeline import DEFAULT_MIN_CONFIDENCE, Pipeline

__all__ = ["Result", "PipelineSettings", "process_records", "ingest_raw", "chunked",
           "run_local", "run_dask", "connect_dask"]


@dataclass(frozen=True)
class PipelineSettings:
    """What a worker needs to build its own pipeline (picklable, hashable)."""

    model_dir: str | None = None
    threads: int | None = None
    detect: bool = True
    min_confidence: float = DEFAULT_MIN_CONFIDENCE

    def build(self) -> Pipeline:
        model_dir = Path(self.model_dir) if self.model_dir else None
        return Pipeline(model_dir=model_dir, threads=self.threads, detect=self.detect,
                        min_confidence=self.min_confidence).load()


@dataclass
class Result:
    """One stored row of the ``articles`` table, with its spans (plain values, picklable)."""

    id: str
    source: str
    status: str  # "ok" or "error"
    error: str | None = None
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    published: str | None = None  # ISO date
    outlet: str | None = None
    language: str | None = None
    url: str | None = None
    input_format: str | None = None
    n_words: int = 0
    analysed: bool = False  # False: ingested only (--no-detect, or not English)
    text: str | None = None  # Article.text: the explorer shows the article from it
    body_start: int = 0
    body_end: int = 0
    scores: dict[str, Any] = field(default_factory=dict)
    spans: list[Finding] = field(default_factory=list)  # offsets into the article's input text

    @classmethod
    def from_article(cls, raw: RawRecord, article: Article) -> Result:
        meta = article.meta
        return cls(
            id=raw.id, source=raw.source, status="ok", title=meta.title,
            authors=list(meta.authors),
            published=meta.published.isoformat() if meta.published else None,
            outlet=meta.outlet, language=meta.language, url=meta.url or raw.url,
            input_format=article.input_format,
            n_words=article.word_count, analysed=article.analysed,
            text=article.text, body_start=article.body_start, body_end=article.body_end,
            scores=dict(article.scores),
            spans=sorted(article.spans, key=Finding.sort_key),
        )

    @classmethod
    def failed(cls, raw: RawRecord, message: str) -> Result:
        return cls(id=raw.id, source=raw.source, status="error", error=message, url=raw.url)


def ingest_raw(raw: RawRecord) -> Article:
    """Ingest one raw record through ``propscan.ingest``'s one dispatcher, as ``analyze`` does."""
    from propscan import ingest

    if raw.kind == "error":
        raise InvalidRecord(raw.error or f"{raw.source}: unreadable record")
    if raw.kind == "record":
        article = ingest.from_record(raw.record, source=raw.source)
    else:
        # a WARC response is an HTML page; a file is read by its name, as `analyze` reads it
        name = None if raw.kind == "warc" else raw.record.get("name", raw.source)
        articles = ingest.from_bytes(raw.data, name=name, url=raw.url,
                                     input_format="html" if raw.kind == "warc" else None)
        if not articles:
            raise EmptyInput(f"{raw.source} holds no article")
        article = articles[0]
        article.source = raw.source
        if raw.url and not article.meta.url:
            article.meta.url = raw.url
    article.id = raw.id
    return article


def process_records(records: Iterable[RawRecord], pipeline: Pipeline) -> list[Result]:
    """Ingest and analyse a chunk of records; every record gives exactly one Result, in order."""
    records = list(records)
    results: list[Result | None] = [None] * len(records)
    ingested: list[tuple[int, Article]] = []
    for index, raw in enumerate(records):
        try:
            ingested.append((index, ingest_raw(raw)))
        except Exception as err:  # noqa: BLE001 - one bad record must not stop a corpus run
            results[index] = Result.failed(raw, _describe(err))
    try:
        pipeline.analyze_many([article for _, article in ingested])
        for index, article in ingested:
            results[index] = Result.from_article(records[index], article)
    except Exception:  # noqa: BLE001
        # The batch failed as a whole: redo it one by one to pin the failure on its record.
        for index, article in ingested:
            try:
                results[index] = Result.from_article(records[index], pipeline.analyze(article))
            except Exception as err:  # noqa: BLE001
                results[index] = Result.failed(records[index], _describe(err))
    return [r for r in results if r is not None]


def _describe(err: Exception) -> str:
    if isinstance(err, PropscanError):
        return err.message
    return f"internal error: {type(err).__name__}: {err}"


def chunked(records: Iterable[RawRecord], size: int) -> Iterator[list[RawRecord]]:
    """Consecutive lists of at most ``size`` records."""
    if size < 1:
        raise ConfigError(f"The 'chunk_size' parameter must be at least 1. Got {size} instead.")
    iterator = iter(records)
    while chunk := list(islice(iterator, size)):
        yield chunk


# --- local engine -------------------------------------------------------------------------

_WORKER_DIED = ("a worker process died (out of memory?); the chunks committed so far are "
                "kept: run the same command again to resume")

_WORKER_PIPELINE: Pipeline | None = None
_WORKER_ERROR: PropscanError | None = None


def _init_local_worker(settings: PipelineSettings) -> None:
    """ProcessPoolExecutor initializer: load the model once per worker process."""
    global _WORKER_PIPELINE, _WORKER_ERROR
    # Ctrl+C reaches the whole process group: the client alone decides how to stop (it ends
    # the workers), instead of every worker printing a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _WORKER_PIPELINE = settings.build()
    except PropscanError as err:
        # Raised from the first task instead, so the client gets the one-line error
        # rather than a broken pool and a traceback printed by the worker.
        _WORKER_ERROR = err


def _local_worker_pipeline() -> Pipeline:
    if _WORKER_ERROR is not None:
        raise _WORKER_ERROR
    assert _WORKER_PIPELINE is not None, "worker initializer did not run"
    return _WORKER_PIPELINE


def _process_in_local_worker(chunk: list[RawRecord]) -> list[Result]:
    return process_records(chunk, _local_worker_pipeline())


def _local_worker_model_info() -> dict:
    return _local_worker_pipeline().model_info


def run_local(chunks: Iterable[list[RawRecord]], settings: PipelineSettings,
              workers: int = 1, pipeline: Pipeline | None = None,
              model_info: dict | None = None) -> Generator[list[Result], None, None]:
    """Process chunks here (``workers=1``) or in worker processes; yield result chunks.

    At most ``2 * workers`` chunks are in flight, so a huge corpus is never read all at once.
    ``model_info``, when given, is filled with the workers' model name and version.
    """
    if workers < 1:
        raise ConfigError(f"The 'workers' parameter must be at least 1. Got {workers} instead.")
    if workers == 1:
        pipeline = pipeline or settings.build()
        if model_info is not None:
            model_info.update(pipeline.model_info)
        for chunk in chunks:
            yield process_records(chunk, pipeline)
        return
    import multiprocessing
    from dataclasses import replace

    from propscan.detect import available_cores

    if settings.threads is None:
        # the detector takes every core per process by default; N workers would oversubscribe
        # (the cores this process may use: a container's CPU set, not the host's count)
        settings = replace(settings, threads=max(1, available_cores() // workers))
    # spawn: workers start clean (no inherited threads or onnxruntime state from the client)
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                               initializer=_init_local_worker, initargs=(settings,))
    completed = False
    try:
        # Asked first so a model that fails to load stops the run before any chunk is sent.
        info = pool.submit(_local_worker_model_info).result()
        if model_info is not None:
            model_info.update(info)
        yield from _bounded(lambda chunk: pool.submit(_process_in_local_worker, chunk),
                            chunks, 2 * workers)
        completed = True
    except BrokenProcessPool:
        raise PropscanError(_WORKER_DIED) from None
    finally:
        # An interrupt, an error or a caller that stops iterating: end the workers now
        # rather than wait for the chunks in flight (their records are redone on resume).
        if completed:
            pool.shutdown(wait=True)
        else:
            _stop_pool(pool)


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel the queued chunks and end the pool's worker processes, leaving none behind."""
    # the executor's own map of worker processes: the only handle on them it offers
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()
            process.join(timeout=5)


def _bounded(submit: Any, chunks: Iterable[list[RawRecord]], limit: int
             ) -> Generator[list[Result], None, None]:
    """Keep at most ``limit`` futures running; yield each result as it completes."""
    pending: set[Future] = set()
    for chunk in chunks:
        pending.add(submit(chunk))
        if len(pending) >= limit:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            yield future.result()


# --- dask engine --------------------------------------------------------------------------

_DASK_PIPELINES: dict[PipelineSettings, Pipeline] = {}
_DASK_LOCK = threading.Lock()


def _dask_pipeline(settings: PipelineSettings) -> Pipeline:
    """The pipeline cached in this worker process (threads of a worker share one model)."""
    with _DASK_LOCK:
        if settings not in _DASK_PIPELINES:
            _DASK_PIPELINES[settings] = settings.build()
        return _DASK_PIPELINES[settings]


def _process_on_dask_worker(chunk: list[RawRecord], settings: PipelineSettings) -> list[Result]:
    return process_records(chunk, _dask_pipeline(settings))


def _dask_model_info(settings: PipelineSettings) -> dict:
    return _dask_pipeline(settings).model_info


def run_dask(chunks: Iterable[list[RawRecord]], settings: PipelineSettings,
             scheduler: Any, max_in_flight: int | None = None,
             model_info: dict | None = None) -> Generator[list[Result], None, None]:
    """Process chunks as tasks on a dask.distributed cluster; yield result chunks.

    ``scheduler`` is an address (``tcp://host:8786``) or a ``distributed.Client``. Workers need
    propscan installed; each loads the model once, on its first task, and keeps it.
    """
    from distributed import Client, as_completed
    from distributed.scheduler import KilledWorker

    client = scheduler if isinstance(scheduler, Client) else connect_dask(scheduler)
    try:
        # Asked first so a model that fails to load stops the run before any chunk is sent.
        info = client.submit(_dask_model_info, settings, pure=False).result()
        if model_info is not None:
            model_info.update(info)
        limit = max_in_flight or 2 * max(1, sum(client.nthreads().values()))
        queue = as_completed()
        in_flight = 0
        for chunk in chunks:
            queue.add(client.submit(_process_on_dask_worker, chunk, settings, pure=False))
            in_flight += 1
            if in_flight >= limit:
                yield next(queue).result()
                in_flight -= 1
        for future in queue:
            yield future.result()
    except KilledWorker:
        raise PropscanError(_WORKER_DIED) from None
    finally:
        if client is not scheduler:
            client.close()


def connect_dask(address: str) -> Any:
    """A ``distributed.Client`` for the scheduler at ``address``; ConfigError if unreachable."""
    from distributed import Client

    try:
        return Client(address, timeout="20s")
    except (OSError, TimeoutError) as err:
        raise ConfigError(f"cannot reach the dask scheduler at {address}: {err}") from None
