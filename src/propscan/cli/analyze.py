"""`propscan analyze`: one article (or one record file) in, findings out."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated, TextIO

import typer

from propscan.cli.app import (
    MinConfidence,
    Threads,
    app,
    check_output_path,
    check_threads,
    handle_errors,
    open_output,
)
from propscan.doc import Article
from propscan.errors import ConfigError, EmptyInput
from propscan.ingest.formats import INPUT_FORMATS
from propscan.pipeline import DEFAULT_MIN_CONFIDENCE, Pipeline


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    html = "html"


InputFormat = StrEnum("InputFormat", {f: f for f in INPUT_FORMATS})  # type: ignore[misc]


@app.command()
@handle_errors
def analyze(
    path: Annotated[str, typer.Argument(help="Article file (.txt, .html, .json, .jsonl), "
                                             "propscan's own JSON output, or - for standard "
                                             "input.")],
    output_format: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="text: terminal view; json: machine-readable; html: report.")
    ] = OutputFormat.text,
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="Write to this file instead of stdout.")
                      ] = None,
    input_format: Annotated[InputFormat, typer.Option(
        "--input-format", help="Override format detection.")] = InputFormat["auto"],
    detect: Annotated[bool, typer.Option("--detect/--no-detect",
                                         help="Run the detector (off: ingestion only).")] = True,
    model_dir: Annotated[Path | None, typer.Option(help="Use a model from this directory "
                                                        "instead of the bundled one.")] = None,
    threads: Threads = None,
    min_confidence: MinConfidence = DEFAULT_MIN_CONFIDENCE,
) -> None:
    """Analyze one article: metadata, cleaned body and propaganda techniques found."""
    fmt = input_format.value if isinstance(input_format, Enum) else input_format
    if output is not None:  # refused before the model loads or anything is read
        check_output_path(output)
    pipeline = Pipeline(model_dir=model_dir, threads=check_threads(threads), detect=detect,
                        min_confidence=min_confidence)
    try:
        _analyze(pipeline, path, None if fmt == "auto" else fmt, output_format, output)
    finally:
        pipeline.close()
    if output is not None:
        print(f"wrote {output}", file=sys.stderr)


def _analyze(pipeline: Pipeline, path: str, input_format: str | None,
             output_format: OutputFormat, output: Path | None) -> None:
    articles = pipeline.analyze_path(path, input_format=input_format)
    # the first article is made (and every record checked) before any output is opened
    first = next(articles, None)
    if first is None:
        raise EmptyInput(f"{path} holds no article")
    with open_output(output) as out:
        if output_format is OutputFormat.json:
            _write_json(first, articles, out)
        elif output_format is OutputFormat.html:
            from propscan.report.html import render_article

            if next(articles, None) is not None:
                raise ConfigError("--format html takes one article; use `propscan batch` and "
                                  "`propscan report` for record files")
            out.write(render_article(first) + "\n")
        else:
            from rich.console import Console

            from propscan.report.terminal import render_article as render_terminal

            console = (Console() if output is None
                       else Console(file=out, width=100, force_terminal=False))
            for article in _chain(first, articles):
                render_terminal(article, console)


def _write_json(first: Article, rest: Iterator[Article], out: TextIO) -> None:
    """One object for one article, a list for a record file, written as results come."""
    second = next(rest, None)
    if second is None:
        out.write(json.dumps(first.to_dict(), ensure_ascii=False, indent=2) + "\n")
        return
    out.write("[\n")
    for n, article in enumerate(_chain(first, _chain(second, rest))):
        text = json.dumps(article.to_dict(), ensure_ascii=False, indent=2)
        out.write(("" if n == 0 else ",\n") + text)
        out.flush()
    out.write("\n]\n")


def _chain(first: Article, rest: Iterator[Article]) -> Iterator[Article]:
    yield first
    yield from rest
