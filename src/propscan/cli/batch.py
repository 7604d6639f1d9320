"""`propscan batch`, `propscan stats` and `propscan report`: corpora in DuckDB (or Parquet)."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from propscan.cli.app import app, check_output_path, handle_errors, open_output
from propscan.detect.scoring import SHORT_TEXT_WORDS
from propscan.errors import ConfigError

if TYPE_CHECKING:
    from rich.progress import Progress

    from propscan.batch.engines import Result
    from propscan.batch.runner import BatchSummary


class Engine(StrEnum):
    local = "local"
    dask = "dask"


class StatsGroup(StrEnum):
    technique = "technique"
    category = "category"  # SemEval-2023 category
    outlet = "outlet"
    month = "month"


@app.command()
@handle_errors
def batch(
    inputs: Annotated[list[Path], typer.Argument(
        help="Directories of .txt/.html files, or .jsonl/.json/.csv/.parquet record files "
             "(a `text` or `html` column plus metadata), or .warc/.warc.gz crawls.")],
    db: Annotated[Path | None, typer.Option(help="DuckDB file to write (created if missing).")
                  ] = None,
    parquet: Annotated[Path | None, typer.Option(
        help="Write Parquet parts to this directory instead of a DuckDB file.")] = None,
    workers: Annotated[int, typer.Option(help="Local worker processes (local engine).")] = 1,
    engine: Annotated[Engine, typer.Option(help="local: this machine; dask: a dask cluster."
                                           )] = Engine.local,
    scheduler: Annotated[str | None, typer.Option(
        help="Dask scheduler address, e.g. tcp://host:8786 (with --engine dask).")] = None,
    chunk_size: Annotated[int, typer.Option(
        help="Records per task and per commit (larger batches infer faster).")] = 32,
    detect: Annotated[bool, typer.Option("--detect/--no-detect",
                                         help="Run the detector (off: ingestion only).")] = True,
    model_dir: Annotated[Path | None, typer.Option(help="Use a model from this directory "
                                                        "instead of the bundled one.")] = None,
    threads: Annotated[int | None, typer.Option(
        help="Inference threads per worker (default: the cores this process may use, shared "
             "among --workers).")] = None,
    retry_failed: Annotated[bool, typer.Option(
        "--retry-failed", help="Process again the records stored as failed by earlier runs "
                               "(after an upgrade); their error rows are replaced.")] = False,
) -> None:
    """Analyze a corpus into DuckDB (or Parquet parts); re-running skips records already stored."""
    from propscan.batch.engines import PipelineSettings
    from propscan.batch.readers import estimate_total
    from propscan.batch.runner import BatchInterrupted, run_batch
    from propscan.batch.store import open_store

    if threads is not None and threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if engine is Engine.dask and workers != 1:
        raise ConfigError("--workers is for the local engine; with --engine dask the "
                          "cluster's workers do the work")
    paths: list[str | Path] = list(inputs)
    total = estimate_total(paths)
    settings = PipelineSettings(model_dir=str(model_dir) if model_dir else None,
                                threads=threads, detect=detect)
    store = open_store(db=db, parquet=parquet)
    try:
        with _Progress(total) as progress:
            summary = run_batch(paths, store, settings, engine=engine.value, workers=workers,
                                scheduler=scheduler, chunk_size=chunk_size,
                                on_chunk=progress.update, retry_failed=retry_failed,
                                stop_on_signals=True)
    except BatchInterrupted as stop:
        done = stop.summary.processed if stop.summary is not None else 0
        print(f"interrupted ({stop}): this run stored {done:,} records; run the same command "
              "again to resume", file=sys.stderr)
        raise typer.Exit(stop.exit_code) from None
    finally:
        store.close()
    target = db if db is not None else parquet
    stored_before = summary.skipped - summary.duplicates
    duplicates = (f", {summary.duplicates:,} repeated a record earlier in the input (same id, "
                  "or same text without one)" if summary.duplicates else "")
    print(f"run {summary.run_id}: {summary.ok:,} ok, {summary.failed:,} failed, "
          f"{stored_before:,} already stored{duplicates} -> {target}")


class _Progress:
    """A rich progress bar (rate, ETA) on a terminal; one plain line per chunk otherwise."""

    def __init__(self, total: int | None) -> None:
        from rich.console import Console

        self.total = total
        self.console = Console(stderr=True)
        self.bar: Progress | None = None

    def __enter__(self) -> _Progress:
        if self.console.is_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                BarColumn(bar_width=20), MofNCompleteColumn(), TextColumn("{task.fields[rate]}"),
                TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[counts]}"),
                console=self.console)
            self.bar.start()
            self.task = self.bar.add_task("batch", total=self.total, rate="", counts="")
        return self

    def update(self, summary: BatchSummary, results: list[Result]) -> None:
        done = summary.processed + summary.skipped
        counts = f"ok {summary.ok:,} failed {summary.failed:,} skipped {summary.skipped:,}"
        if self.bar is None:
            total = f"/{self.total:,}" if self.total is not None else ""
            print(f"committed {done:,}{total} ({counts})", file=sys.stderr, flush=True)
            return
        elapsed = self.bar.tasks[0].elapsed or 0.0
        rate = f"{summary.processed / elapsed:.1f} art/s" if elapsed else ""
        self.bar.update(self.task, completed=done, rate=rate, counts=counts)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


@app.command()
@handle_errors
def stats(
    database: Annotated[Path, typer.Argument(help="A batch DuckDB file or Parquet directory.")],
    by: Annotated[StatsGroup, typer.Option(help="Group by technique, SemEval-2023 category, "
                                                "outlet or month.")
                  ] = StatsGroup.technique,
    top: Annotated[int, typer.Option(help="How many top articles to list.")] = 10,
    min_words: Annotated[int, typer.Option(
        min=0, help="Leave articles shorter than this out of the top articles (one fragment "
        "moves a short text's rate too far).")] = SHORT_TEXT_WORDS,
) -> None:
    """Technique counts and rates per technique, SemEval-2023 category, outlet or month, and
    the top articles."""
    from rich.console import Console
    from rich.table import Table

    from propscan.batch.corpus import CorpusView

    with CorpusView(database) as view:
        totals = view.totals()
        rows = view.stats(by.value)
        no_semeval = by is StatsGroup.category and not view.has_semeval()
        top_rows = view.top_articles(limit=top, min_words=min_words)
    console = Console()
    console.print(f"{database}: {totals['ok']:,} articles ok ({totals['analysed']:,} analysed "
                  f"for techniques), {totals['failed']:,} failed; {totals['words']:,} words "
                  f"analysed, {totals['spans']:,} spans", soft_wrap=True)
    if no_semeval:
        console.print("no SemEval-2023 labels in this corpus")
    else:
        console.print(_rich_table(Table, f"By {by.value}", rows))
    if not top_rows:
        console.print(f"No article of {min_words:,} words or more has findings yet.")
        return
    console.print(_rich_table(Table, "Top articles (spans per 1,000 words; articles of "
                                     f"{min_words:,} words or more)", [
        {"article": r["title"] or r["source"], "outlet": r["outlet"], "words": r["n_words"],
         "spans": r["n_spans"], "per_1k_words": r["per_1k_words"]} for r in top_rows]))


def _rich_table(table_cls: type, title: str, rows: list[dict]) -> object:
    table = table_cls(title=title, title_justify="left")
    if not rows:
        table.add_column("(no rows)")
        return table
    for name in rows[0]:
        numeric = isinstance(rows[0][name], int | float)
        table.add_column(name, justify="right" if numeric else "left",
                         overflow="fold", max_width=None if numeric else 48)
    for row in rows:
        table.add_row(*("" if v is None else f"{v:,}" if isinstance(v, int) else str(v)
                        for v in row.values()))
    return table


@app.command()
@handle_errors
def report(
    database: Annotated[Path, typer.Argument(help="A batch DuckDB file or Parquet directory.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")],
    top: Annotated[int, typer.Option(help="How many top articles to list.")] = 20,
    min_words: Annotated[int, typer.Option(
        min=0, help="Leave articles shorter than this out of the top articles.")
    ] = SHORT_TEXT_WORDS,
) -> None:
    """Write a self-contained HTML report on a corpus, with plots."""
    from propscan.report.corpus import render_report

    check_output_path(output)
    rendered = render_report(database, top=top, min_words=min_words)
    with open_output(output) as out:
        out.write(rendered)
    print(f"wrote {output}")
