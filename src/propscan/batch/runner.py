"""One batch run: read records, skip those already stored, process chunks, write, summarise."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
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

__all__ = ["BatchSummary", "BatchInterrupted", "run_batch", "ENGINES"]

ENGINES = ("local", "dask")


@dataclass
class BatchSummary:
    """What a run did. ``skipped`` counts records not processed because their id was already
    stored, by an earlier run or, for ``duplicates`` of them, earlier in this run's input
    (the same id, or the same text where a record has neither id nor URL). A duplicate of a
    record that failed is not skipped: it is processed in its turn, after that failure."""

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
              retry_failed: bool = False, stop_on_signals: bool = False) -> BatchSummary:
    """Analyse every record under ``paths`` not yet in ``store``; return the run's summary.

    ``retry_failed`` also processes again the records an earlier run stored as failed (after
    an upgrade that fixes what failed them); their error rows are replaced by the new results.

    ``stop_on_signals`` (the CLI; main thread only): SIGINT and SIGTERM stop the run cleanly.
    A chunk being written is committed first, the worker processes are ended, and
    :class:`BatchInterrupted` (a KeyboardInterrupt) is raised with the run's summary; the
    same call again resumes, as after a kill.
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
        if not stop_on_signals or threading.current_thread() is not threading.main_thread():
            return _run(paths, store, settings, engine, workers, scheduler, chunk_size,
                        on_chunk, retry_failed)
        with _signals.catching():
            return _run(paths, store, settings, engine, workers, scheduler, chunk_size,
                        on_chunk, retry_failed)
    finally:
        if own_client is not None:
            own_client.close()


def _run(paths: list[str | Path], store: DuckDBStore | ParquetStore, settings: PipelineSettings,
         engine: str, workers: int, scheduler: Any, chunk_size: int,
         on_chunk: ProgressCallback | None, retry_failed: bool) -> BatchSummary:
    run_id = store.start_run([str(p) for p in paths])
    summary = BatchSummary(run_id=run_id)
    model_info: dict[str, Any] = {}  # filled by the engine once its model is loaded
    known = store.known_ids(retry_failed)
    held: dict[str, list[RawRecord]] = {}
    records: Iterable[RawRecord] = _skip_known(iter_records(paths), known, held, summary)
    try:
        while True:
            if engine == "dask":
                results_iter = run_dask(chunked(records, chunk_size), settings, scheduler,
                                        model_info=model_info)
            else:
                results_iter = run_local(chunked(records, chunk_size), settings,
                                         workers=workers, model_info=model_info)
            failed: set[str] = set()
            try:
                for results in results_iter:
                    if summary.processed == 0:
                        store.set_model(run_id, model_info)
                    with _signals.commit():  # counted inside: a deferred signal raises on exit
                        store.write(results, run_id)
                        summary.ok += sum(r.status == "ok" for r in results)
                        summary.failed += sum(r.status != "ok" for r in results)
                    failed.update(r.id for r in results if r.status != "ok")
                    if on_chunk is not None:
                        on_chunk(summary, results)
            finally:
                results_iter.close()  # an interrupt stops the workers now, not at exit
            # A record that failed must not shadow its twins: the next record held back with
            # its id gets a turn (its ok row then replaces the error row of that id).
            records = [held[id_].pop(0) for id_ in sorted(failed) if held.get(id_)]
            if not records:
                break
            summary.skipped -= len(records)
            summary.duplicates -= len(records)
    except BatchInterrupted as stop:
        stop.summary = summary  # the run stays unfinished in the runs table, as after a kill
        raise
    if summary.processed == 0:  # nothing new to process: the engine still loaded the model
        store.set_model(run_id, model_info)
    store.finish_run(run_id, summary.ok, summary.failed, summary.skipped)
    return summary


def _skip_known(records: Iterator[RawRecord], known: set[str], held: dict[str, list[RawRecord]],
                summary: BatchSummary) -> Iterator[RawRecord]:
    """Records whose id is not stored yet. A record with the id of one earlier in this run is
    held back in ``held`` (and counted as a duplicate) until that one's outcome is known."""
    this_run: set[str] = set()
    for raw in records:
        if raw.id in this_run:
            held.setdefault(raw.id, []).append(raw)
            summary.skipped += 1
            summary.duplicates += 1
            continue
        if raw.id in known:
            summary.skipped += 1
            continue
        this_run.add(raw.id)
        yield raw


class BatchInterrupted(KeyboardInterrupt):
    """A run stopped by SIGINT or SIGTERM; ``summary`` says what it had committed."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.summary: BatchSummary | None = None

    @property
    def exit_code(self) -> int:
        """128 + the signal number, as a shell reports a process the signal ended."""
        return 128 + self.signum


class _StopSignals:
    """While active, SIGINT and SIGTERM raise :class:`BatchInterrupted` in the main thread,
    except inside :meth:`commit`: a chunk being written is finished first, then they raise."""

    def __init__(self) -> None:
        self.committing = False
        self.stopping = False
        self.pending: int | None = None

    @contextmanager
    def catching(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self._handle) for sig in _STOP_SIGNALS}
        self.stopping, self.pending = False, None
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _handle(self, signum: int, frame: object) -> None:
        if self.committing or self.stopping:
            # a second signal must not cut short the cleanup of the first (ending workers)
            self.pending = self.pending or signum
            return
        self.stopping = True
        raise BatchInterrupted(signum)

    @contextmanager
    def commit(self) -> Iterator[None]:
        self.committing = True
        try:
            yield
        finally:
            self.committing = False
            if self.pending is not None and not self.stopping:
                signum, self.pending = self.pending, None
                self.stopping = True
                raise BatchInterrupted(signum)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_signals = _StopSignals()
