"""`propscan analyze`: one article (or one record file) in, findings out."""

from __future__ import annotations

import json
import sys
from enum import Enum, StrEnum
from pathlib import Path
from typing import Annotated

import typer

from propscan.cli.app import Threads, app, handle_errors
from propscan.errors import ConfigError
from propscan.ingest import INPUT_FORMATS, read_path
from propscan.pipeline import Pipeline


class OutputFormat(StrEnum):
    text = "text"
    json = "json"
    html = "html"


InputFormat = StrEnum("InputFormat", {f: f for f in INPUT_FORMATS})


@app.command()
@handle_errors
def analyze(
    path: Annotated[str, typer.Argument(help="Article file (.txt, .html, .json, .jsonl) or - "
                                             "for standard input.")],
    output_format: Annotated[OutputFormat, typer.Option(
        "--format", "-f", help="text: terminal view; json: machine-readable; html: report.")
    ] = OutputFormat.text,
    output: Annotated[Path | None, typer.Option("--output", "-o",
                                                help="Write to this file instead of stdout.")
                      ] = None,
    input_format: Annotated[InputFormat, typer.Option(  # type: ignore[valid-type]
        "--input-format", help="Override format detection.")] = "auto",
    detect: Annotated[bool, typer.Option("--detect/--no-detect",
                                         help="Run the detector (off: ingestion only).")] = True,
    model_dir: Annotated[Path | None, typer.Option(help="Use a model from this directory "
                                                        "instead of the bundled one.")] = None,
    threads: Threads = None,
) -> None:
    """Analyze one article: metadata, cleaned body and propaganda techniques found."""
    if threads is not None and threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    fmt = input_format.value if isinstance(input_format, Enum) else input_format
    articles = read_path(path, input_format=None if fmt == "auto" else fmt)
    pipeline = Pipeline(model_dir=model_dir, threads=threads, detect=detect)
    articles = pipeline.analyze_many(articles)
    if output_format is OutputFormat.json:
        docs = [a.to_dict() for a in articles]
        rendered = json.dumps(docs[0] if len(docs) == 1 else docs, ensure_ascii=False, indent=2)
    elif output_format is OutputFormat.html:
        from propscan.report.html import render_article

        if len(articles) > 1:
            raise ConfigError("--format html takes one article; use `propscan batch` and "
                              "`propscan report` for record files")
        rendered = render_article(articles[0])
    else:
        from rich.console import Console

        from propscan.cli.terminal import render_article as render_terminal

        if output is not None:
            with output.open("w", encoding="utf-8") as fh:
                console = Console(file=fh, width=120, force_terminal=False)
                for article in articles:
                    render_terminal(article, console)
            return
        console = Console()
        for article in articles:
            render_terminal(article, console)
        return
    if output is not None:
        output.write_text(rendered + "\n", encoding="utf-8")
        print(f"wrote {output}", file=sys.stderr)
    else:
        sys.stdout.write(rendered + "\n")
