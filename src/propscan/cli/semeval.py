"""`propscan semeval paragraphs`: predictions in the SemEval-2023 Task 3 subtask 3 layout."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from propscan.cli.app import Threads, app, check_threads, handle_errors, open_output
from propscan.doc import Finding
from propscan.techniques import PTC_TO_SEMEVAL, SEMEVAL_TECHNIQUE_NAMES

__all__ = ["paragraph_rows", "label_rows", "paragraphs"]

semeval_app = typer.Typer(help="Predict in the SemEval-2023 Task 3 formats (23 techniques).",
                          no_args_is_help=True)
app.add_typer(semeval_app, name="semeval")

_ORDER = {name: i for i, name in enumerate(SEMEVAL_TECHNIQUE_NAMES)}


def paragraph_rows(article_id: str, text: str, findings: Sequence[Finding]) -> list[str]:
    """``id<TAB>line<TAB>tech1,tech2,...`` for each non-empty line of ``text``, from the
    findings that overlap the line (their SemEval-2023 names; a finding without one counts as
    the first technique its PTC-14 technique covers). See :func:`label_rows` for the layout."""
    labels = []
    start = 0
    for line in text.split("\n"):
        end = start + len(line)
        labels.append([f.technique_2023 or PTC_TO_SEMEVAL.get(f.technique, (f.technique,))[0]
                       for f in findings if f.start < end and f.end > start])
        start = end + 1  # past the "\n"
    return label_rows(article_id, text, labels)


def label_rows(article_id: str, text: str, labels: Sequence[Sequence[str]]) -> list[str]:
    """One row for each non-empty line of ``text``: lines are numbered from 1 over every line
    (empty ones too), as in the SemEval-2023 files; ``labels[k]`` are line k + 1's techniques,
    written in the task's order; the third column is empty when there are none."""
    rows = []
    for number, line in enumerate(text.split("\n"), 1):
        if line.strip():
            names = set(labels[number - 1]) if number <= len(labels) else set()
            ordered = sorted(names, key=lambda n: (_ORDER.get(n, len(_ORDER)), n))
            rows.append(f"{article_id}\t{number}\t{','.join(ordered)}")
    return rows


@semeval_app.command("paragraphs")
@handle_errors
def paragraphs(
    articles_dir: Annotated[Path, typer.Argument(help="Directory of articleNNN.txt files.")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Output file (default: stdout).")] = None,
    model_dir: Annotated[Path | None, typer.Option(
        help="Model directory (default: bundled).")] = None,
    threads: Threads = None,
) -> None:
    """Subtask 3: one id<TAB>line<TAB>techniques row per non-empty line of each article."""
    from propscan.detect import Detector
    from propscan.evaluate.ptc import read_articles

    texts = read_articles(articles_dir)
    ids = sorted(texts)
    from propscan.detect.semeval import load_semeval_model

    # the paragraph model scores better than the findings' lines in cross-validation (MODEL_CARD)
    model = load_semeval_model(model_dir)
    if model is not None:
        lines = [row for aid in ids
                 for row in label_rows(aid, texts[aid], model.paragraph_labels(texts[aid]))]
    else:
        print("note: this model has no SemEval-2023 classifier; each line gets the SemEval-2023 "
              "techniques its findings' PTC-14 techniques most often are", file=sys.stderr)
        detector = Detector(model_dir, threads=check_threads(threads)).load()
        found = detector.detect_texts([texts[i] for i in ids])
        lines = [row for aid, findings in zip(ids, found, strict=True)
                 for row in paragraph_rows(aid, texts[aid], findings)]
    with open_output(output) as out:
        out.write("".join(line + "\n" for line in lines))
    if output is not None:
        print(f"wrote {len(lines)} rows to {output}", file=sys.stderr)
