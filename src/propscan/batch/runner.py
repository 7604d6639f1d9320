"""One batch run: read records, skip those already stored, process chunks, write, summarise."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from propscan.batch.engines import (
    PipelineSettings,
    Result,
    chunked,
    connect_dask,
    run_dask,
    run_local,
)
from propscan.batch.readers import RawRecord, iter_records
from propscan.batch.store import DuckDBStore, ParquetStore
from propscan.errors import ConfigError

__all__ = ["BatchSummary", "run_batch", "ENGINES"]

ENGINES = ("local", "dask")


@dataclass
class BatchSummary:
    """What a run did. ``skipped`` counts records not processed because their id was already
    stored, by an earlier run or, for ``duplicates`` of them, earlier in this run's input
    (the same id, or the same text where a record has neither id nor URL)."""

    run_id: int
    ok: int = 0
    failed: int = 0
    skipped: int = 0
    duplicates: int = 0

    @property
    def processed(self) -> int:
        return self.ok + self.failed


#: Called after each committed chunk with the running summary and that chunk's results.
ProgressCallback = Callable[[BatchSummary, list[Result]], None]


def run_batch(paths: list[str | Path], store: DuckDBStore | ParquetStore,
              settings: PipelineSettings, *, engine: str = "local", workers: int = 1,
              scheduler: Any = None, chunk_size: int = 32,
              on_chunk: ProgressCallback | None = None,
              retry_failed: bool = False) -> BatchSummary:
    """Analyse every record under ``paths`` not yet in ``store``; return the run's summary.

    ``retry_failed`` also processes again the records an earlier run stored as failed (after
    an upgrade that fixes what failed them); their error rows are replaced by the new results.
    """
    if engine not in ENGINES:
        raise ConfigError(f"The 'engine' parameter must be one of {', '.join(ENGINES)}. "
                          f"Got {engine!r} instead.")
    if engine == "dask" and scheduler is None:
        raise ConfigError("--engine dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
    own_client = None
    if engine == "dask" and isinstance(scheduler, str):
        # connect before the run is recorded: an unreachable scheduler leaves no trace
        scheduler = own_client = connect_dask(scheduler)
    try:
        return _run(paths, store, settings, engine, workers, scheduler, chunk_size, on_chunk,
                    retry_failed)
    finally:
        if own_client is not None:
            own_client.close()


def _run(paths: list[str | Path], store: DuckDBStore | ParquetStore, settings: PipelineSettings,
         engine: str, workers: int, scheduler: Any, chunk_size: int,
         on_chunk: ProgressCallback | None, retry_failed: bool) -> BatchSummary:
    run_id = store.start_run([str(p) for p in paths])
    summary = BatchSummary(run_id=run_id)
    fresh = _skip_known(iter_records(paths), store.known_ids(retry_failed), summary)
    chunks = chunked(fresh, chunk_size)
    model_info: dict[str, Any] = {}  # filled by the engine once its model is loaded
    if engine == "dask":
        results_iter = run_dask(chunks, settings, scheduler, model_info=model_info)
    else:
        results_iter = run_local(chunks, settings, workers=workers, model_info=model_info)
    model_recorded = False
    for results in results_iter:
        if not model_recorded:
            store.set_model(run_id, model_info)
            model_recorded = True
        store.write(results, run_id)
        summary.ok += sum(r.status == "ok" for r in results)
        summary.failed += sum(r.status != "ok" for r in results)
        if on_chunk is not None:
            on_chunk(summary, results)
    if not model_recorded:  # nothing new to process: the engine still loaded the model
        store.set_model(run_id, model_info)
    store.finish_run(run_id, summary.ok, summary.failed, summary.skipped)
    return summary


def _skip_known(records: Iterator[RawRecord], known: set[str],
                summary: BatchSummary) -> Iterator[RawRecord]:
    """Records whose id is not stored yet; a duplicate id in the input counts as skipped."""
    this_run: set[str] = set()
    for raw in records:
        if raw.id in known:
            summary.skipped += 1
            summary.duplicates += raw.id in this_run
            continue
        known.add(raw.id)
        this_run.add(raw.id)
        yield raw
