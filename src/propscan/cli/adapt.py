"""`propscan adapt`: refit the decoding (and, with --fine-tune, the tagger) to the articles
reviewed in a corpus database."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from propscan.cli.app import app, check_threads, handle_errors
from propscan.errors import ConfigError

#: where the research checkout keeps the PTC training data, beside the repository
PTC_DEFAULT = Path("../shared/data/ptc-train")


def _say(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


@app.command()
@handle_errors
def adapt(
    db: Annotated[Path, typer.Option(help="The batch DuckDB file whose reviewed articles "
                                          "(propscan serve --db, or corrections import) are "
                                          "learned from.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write the "
                                         "adapted model to (new, empty, or an earlier adapted "
                                         "model, which is replaced).")],
    model_dir: Annotated[Path | None, typer.Option(help="Base model directory (default: the "
                                                        "bundled model).")] = None,
    with_ptc: Annotated[Path | None, typer.Option(
        help="PTC training directory to mix in: as many PTC articles as reviewed ones, so "
             "each side weighs about half of the fit (default: ../shared/data/ptc-train when "
             "it exists).")] = None,
    no_ptc: Annotated[bool, typer.Option("--no-ptc", help="Learn from the reviewed articles "
                                                          "alone.")] = False,
    folds: Annotated[int, typer.Option(help="Folds of the cross-validation over the reviewed "
                                            "articles that gives the held-out figures.")] = 5,
    min_articles: Annotated[int, typer.Option(
        help="Refuse with fewer reviewed articles (at least 2 per fold in any case). 20 with 5 "
             "folds leaves 4+ articles held out per fold and 16+ to fit on; fewer give "
             "figures too noisy to tell better from worse.")] = 20,
    force: Annotated[bool, typer.Option("--force", help="Write the model even when it scores "
                                        "below the base model on held-out articles.")] = False,
    fine_tune: Annotated[bool, typer.Option("--fine-tune", help="Also fine-tune the tagger on "
                                            "the reviewed articles (needs torch; slow: on 2 "
                                            "cores 1.5 to 6 minutes per fold of 60 articles, "
                                            "by their length; see the README).")] = False,
    fine_tune_epochs: Annotated[int, typer.Option(help="Epochs of --fine-tune.")] = 3,
    fine_tune_cache: Annotated[Path | None, typer.Option(
        help="Keep --fine-tune's taggers in this directory (about 23 MB each: one per fold and "
             "the adapted model's) and reuse them when adapt runs again with the same base "
             "model, reviewed articles and settings: an interrupted run resumes at the "
             "tagger it stopped in.")] = None,
    threads: Annotated[int | None, typer.Option(
        help="Inference threads, and fits run at once (default: every core this process "
             "may use).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON.")
                       ] = False,
) -> None:
    """Refit the span stage, decoding and calibration to your reviewed articles (with
    --fine-tune, the tagger too); prints held-out figures of the base and adapted models, and
    writes the adapted model unless it scores lower."""
    from propscan.detect import Detector
    from propscan.train.adapt_model import check_output_dir

    if fine_tune:
        import importlib.util

        if not importlib.util.find_spec("torch"):
            raise ConfigError("--fine-tune needs torch: pip install 'propscan[train]' "
                              "(or leave --fine-tune out to refit the decoding alone)")
    if fine_tune_cache is not None:
        if not fine_tune:
            raise ConfigError("--fine-tune-cache keeps --fine-tune's taggers: give --fine-tune "
                              "too, or leave it out")
        if fine_tune_cache.exists() and not fine_tune_cache.is_dir():
            raise ConfigError(f"--fine-tune-cache {fine_tune_cache}: not a directory")
    if with_ptc is not None and no_ptc:
        raise ConfigError("--with-ptc and --no-ptc contradict each other; give one")
    if min_articles < 1:
        raise ConfigError(f"--min-articles must be at least 1, got {min_articles}")
    check_output_dir(output)
    ptc_dir = None if no_ptc else with_ptc
    if ptc_dir is None and not no_ptc and not fine_tune and PTC_DEFAULT.is_dir():
        ptc_dir = PTC_DEFAULT
        _say(f"mixing in PTC training articles from {ptc_dir} (--no-ptc to leave them out)")
    try:
        from propscan.train.adapt import adapt as run_adapt
        from propscan.train.adapt_model import format_adaptation, write_adapted_model
    except ImportError:
        raise ConfigError("adapt needs the training extra: pip install 'propscan[train]'"
                          ) from None
    from propscan.detect import available_cores

    threads = check_threads(threads)
    tuning = None
    if fine_tune:
        from propscan.train.fine_tune import FineTuning

        tuning = FineTuning(epochs=fine_tune_epochs, threads=threads or available_cores(),
                            cache=fine_tune_cache)
    with Detector(model_dir, threads=threads).load() as base:
        result = run_adapt(db, base, ptc_dir=ptc_dir, folds=folds, min_articles=min_articles,
                           workers=threads or available_cores(), progress=_say,
                           fine_tuning=tuning, tune_when_worse=force)
        base_dir, base_config = base.model_dir, dict(base.model_config_)
    if fine_tune_cache is not None:  # nothing prunes it: say what it holds
        taggers = list(fine_tune_cache.glob("*/DONE"))
        size = sum(p.stat().st_size for t in taggers for p in t.parent.iterdir())
        _say(f"{fine_tune_cache} holds {len(taggers)} fine-tuned taggers ({size / 1e6:.0f} MB); "
             "delete it when no rerun needs them")
    print(json.dumps(result.figures, indent=1) if as_json else format_adaptation(result))
    if result.worse:
        worse = " and ".join(result.worse)
        if not force:
            raise ConfigError(f"the adapted model scores lower than the base on held-out "
                              f"articles ({worse}); nothing written (--force writes it anyway)")
        _say(f"warning: the adapted model scores lower on held-out articles ({worse}); "
             "written because of --force")
    version = write_adapted_model(result, base_dir, base_config, output)
    _say(f"wrote {output} (model {version}); use it with --model-dir {output}")
