"""`propscan corrections export|import`: reviewed articles out as gold, and gold back in."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from propscan.cli.app import app, handle_errors
from propscan.errors import ConfigError

corrections_app = typer.Typer(
    help="Reviewed articles as gold: export them for annotation tools, import gold back.",
    no_args_is_help=True)
app.add_typer(corrections_app, name="corrections")

Database = Annotated[Path, typer.Option("--db", help="The batch DuckDB file.")]


class ExportFormat(StrEnum):
    ptc = "ptc"
    semeval2023 = "semeval2023"
    label_studio = "label-studio"


@corrections_app.command("export")
@handle_errors
def export(
    db: Database,
    format: Annotated[ExportFormat, typer.Option(
        "--format", help="ptc: articleNNN.txt files and labels.txt (TC rows); semeval2023: "
                         "the same with SemEval-2023 names; label-studio: one JSON file of "
                         "tasks (predictions and annotations).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="A new or empty directory "
                                         "(ptc, semeval2023), or a .json file (label-studio).")],
    all_articles: Annotated[bool, typer.Option(
        "--all", help="label-studio: unreviewed articles too, with predictions only.")] = False,
) -> None:
    """Write the reviewed articles as gold: what is not marked in them is not propaganda."""
    from propscan.batch.store import connect_readonly
    from propscan.corpus.exchange import export_gold

    if db.is_dir():
        raise ConfigError(f"--db {db} is a folder; corrections live in a DuckDB file")
    con = connect_readonly(db)
    try:
        summary = export_gold(con, format.value, output, include_all=all_articles)
    finally:
        con.close()
    line = f"exported {summary.articles} reviewed articles, {summary.fragments} gold fragments"
    if summary.predictions_only:
        line += f", {summary.predictions_only} articles with predictions only"
    print(f"{line} to {output}", file=sys.stderr)
    if summary.merged_names:
        print(f"warning: {summary.merged_names} fragments of a PTC class SemEval-2023 split "
              "(Whataboutism,Straw_Men,Red_Herring; Bandwagon,Reductio_ad_hitlerum) keep "
              "their PTC name", file=sys.stderr)
    if summary.no_text:
        print(f"warning: {summary.no_text} reviewed articles were stored before texts were "
              "kept and are left out; run batch again", file=sys.stderr)


@corrections_app.command("import")
@handle_errors
def import_(
    db: Database,
    tasks: Annotated[Path | None, typer.Argument(
        help="A Label Studio JSON export (tasks with annotations).")] = None,
    articles: Annotated[Path | None, typer.Option(
        "--articles", help="PTC: the folder of articleNNN.txt files.")] = None,
    labels: Annotated[Path | None, typer.Option(
        "--labels", help="PTC: the TC labels file (id<TAB>technique<TAB>start<TAB>end).")
                      ] = None,
    reviewer: Annotated[str | None, typer.Option(
        help="Name the gold's reviewer (default: 'PTC annotators'; Label Studio: the "
             "annotation's completed_by).")] = None,
    detect: Annotated[bool, typer.Option(
        "--detect/--no-detect", help="Analyse the articles the database lacks (their model "
                                     "findings are kept beside the gold).")] = True,
    model_dir: Annotated[Path | None, typer.Option(
        help="Use a model from this directory instead of the bundled one.")] = None,
) -> None:
    """Import gold: PTC label files with their articles, or a Label Studio export."""
    from propscan.corpus.gold_import import (
        ImportSummary,
        read_label_studio_gold,
        read_ptc_gold,
        store_gold,
    )

    summary = ImportSummary()
    if tasks is not None:
        if articles is not None or labels is not None:
            raise ConfigError("give either a Label Studio TASKS file or --articles and "
                              "--labels, not both")
        gold = read_label_studio_gold(tasks, summary)
        if reviewer:
            for article in gold:
                article.reviewer = reviewer
        source, unit = "label-studio-import", "tasks"
    elif articles is not None and labels is not None:
        gold = read_ptc_gold(articles, labels, reviewer or "PTC annotators", summary)
        source, unit = "ptc-import", "articles"
    else:
        raise ConfigError("give a Label Studio TASKS file, or --articles DIR and --labels FILE")
    store_gold(db, gold, source, detect=detect, model_dir=model_dir, summary=summary)
    print(summary.line(unit), file=sys.stderr)
