"""`propscan ptc spans|techniques`: predictions in the SemEval-2020 Task 11 file formats."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from propscan.cli.app import Threads, app, handle_errors, open_output
from propscan.errors import ConfigError, InvalidRecord

ptc_app = typer.Typer(help="Predict in the PTC / SemEval-2020 Task 11 formats (raw offsets).",
                      no_args_is_help=True)
app.add_typer(ptc_app, name="ptc")

ModelDir = Annotated[Path | None, typer.Option(help="Model directory (default: bundled).")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Output file (default: "
                                                                    "stdout).")]


def _detector(model_dir: Path | None, threads: int | None, threshold: float | None = None):
    from propscan.detect import Detector

    if threads is not None and threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    return Detector(model_dir, threads=threads, threshold=threshold).load()


class Taxonomy(StrEnum):
    ptc = "ptc"
    semeval2023 = "semeval2023"


def _write(lines: list[str], output: Path | None) -> None:
    text = "".join(line + "\n" for line in lines)
    with open_output(output) as out:
        out.write(text)
    if output is not None:
        print(f"wrote {len(lines)} rows to {output}", file=sys.stderr)


@ptc_app.command("spans")
@handle_errors
def spans(
    articles_dir: Annotated[Path, typer.Argument(help="Directory of articleNNN.txt files.")],
    output: Output = None,
    model_dir: ModelDir = None,
    threads: Threads = None,
    threshold: Annotated[float | None, typer.Option(
        help="p(inside) threshold of the fragment decoder; lower finds more fragments "
             "(default: the model's).")] = None,
) -> None:
    """Span identification: write id<TAB>start<TAB>end rows, offsets into the raw files."""
    from propscan.evaluate.ptc import read_articles

    texts = read_articles(articles_dir)
    detector = _detector(model_dir, threads, threshold)
    ids = sorted(texts)
    found = detector.detect_texts([texts[i] for i in ids])
    _write([f"{aid}\t{f.start}\t{f.end}" for aid, frags in zip(ids, found, strict=True)
            for f in frags], output)


@ptc_app.command("techniques")
@handle_errors
def techniques(
    articles_dir: Annotated[Path, typer.Argument(help="Directory of articleNNN.txt files.")],
    spans_path: Annotated[Path, typer.Option("--spans", help="Template: id<TAB>?<TAB>start"
                                                             "<TAB>end or id<TAB>start<TAB>end.")],
    output: Output = None,
    model_dir: ModelDir = None,
    threads: Threads = None,
    taxonomy: Annotated[Taxonomy, typer.Option(
        help="ptc: the 14 PTC / SemEval-2020 names; semeval2023: the 23 SemEval-2023 Task 3 "
             "names.")] = Taxonomy.ptc,
) -> None:
    """Technique classification: one id<TAB>technique<TAB>start<TAB>end row per template row."""
    from propscan.evaluate.ptc import read_articles, read_span_template

    texts = read_articles(articles_dir)
    rows = read_span_template(spans_path)
    for aid, _, _ in rows:
        if aid not in texts:
            raise InvalidRecord(f"{spans_path}: article {aid} is not in {articles_dir}")
    if taxonomy is Taxonomy.semeval2023:
        names = _semeval_techniques(texts, rows, model_dir)
        if names is not None:
            _write([f"{aid}\t{name}\t{s}\t{e}"
                    for (aid, s, e), name in zip(rows, names, strict=True)], output)
            return
    labels = _ptc_techniques(texts, rows, model_dir, threads)
    if taxonomy is Taxonomy.semeval2023:
        from propscan.techniques import PTC_TO_SEMEVAL

        print("note: this model has no SemEval-2023 classifier; each PTC-14 technique is "
              "written as the SemEval-2023 technique it most often is", file=sys.stderr)
        labels = {i: PTC_TO_SEMEVAL.get(name, (name,))[0] for i, name in labels.items()}
    _write([f"{aid}\t{labels[i]}\t{s}\t{e}" for i, (aid, s, e) in enumerate(rows)], output)


def _semeval_techniques(texts: dict[str, str], rows: list[tuple[str, int, int]],
                        model_dir: Path | None) -> list[str] | None:
    """The SemEval-2023 technique of each template row from the model's SemEval-2023
    classifier; None when there is none (no such module or no weights in the model)."""
    try:
        from propscan.detect.semeval import classify_2023, load_semeval_model
    except ImportError:
        return None
    model = load_semeval_model(model_dir)
    if model is None:
        return None
    names: dict[int, str] = {}
    for aid in sorted({aid for aid, _, _ in rows}):
        idx = [i for i, row in enumerate(rows) if row[0] == aid]
        found = classify_2023(model, texts[aid], [(rows[i][1], rows[i][2]) for i in idx])
        names.update(zip(idx, found, strict=True))
    return [names[i] for i in range(len(rows))]


def _ptc_techniques(texts: dict[str, str], rows: list[tuple[str, int, int]],
                    model_dir: Path | None, threads: int | None) -> dict[int, str]:
    """The PTC-14 technique of each template row (by row index), from the tagger."""
    detector = _detector(model_dir, threads)
    needed = sorted({aid for aid, _, _ in rows})
    encoded = dict(zip(needed, detector.encode([texts[i] for i in needed]), strict=True))
    labels: dict[int, str] = {}
    for aid in needed:
        idx = [i for i, row in enumerate(rows) if row[0] == aid]
        found = detector.classify(texts[aid], [(rows[i][1], rows[i][2]) for i in idx],
                                  *encoded[aid])
        labels.update(zip(idx, found, strict=True))
    return labels
