"""Shared fixtures and the `slow` marker.

The research data lives beside the checkout (``../shared``), never inside it; every test that
reads it gets its path from a fixture here, which skips the test where the data is absent.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
EXAMPLE = SHARED / "examples" / "000_5b4fd3b5d3f3f23c.txt"
PTC_DIR = SHARED / "data" / "ptc-train"
PTC_ARTICLES = PTC_DIR / "train-articles"
UNLABELLED_NEWS = SHARED / "data" / "unlabeled-news"
INVENTED_EXAMPLE = REPO / "src" / "propscan" / "examples" / "invented_article.txt"

#: Tests that train, fit on real scores, export ONNX models, start dask clusters or worker
#: processes, in files whose owners mark nothing themselves: `make test-fast` (-m "not slow")
#: leaves them out. A whole file is named by its file name alone.
SLOW_TESTS: dict[str, tuple[str, ...]] = {
    "test_train.py": (
        "test_one_epoch_on_two_articles_exports_a_loadable_int8_model",
        "test_self_training_student_learns_from_the_teachers_labels_of_unlabelled_articles",
        "test_a_student_learns_from_a_reused_teacher_without_retraining_it",
    ),
    "test_onnx_export.py": (),  # every test exports or builds ONNX graphs with torch
    "test_span_model.py": (
        "test_cross_fitted_decoding_on_real_scores",
        "test_cross_fitted_figures_do_not_depend_on_the_number_of_workers",
        "test_crossfit_command_fits_folds_trained_elsewhere_from_their_caches",
        "test_cross_fitted_si_predictions_are_those_behind_the_figures",
    ),
    "test_batch.py": (
        "test_two_worker_processes_give_the_same_results_as_in_process",
        "test_a_worker_killed_mid_run_stops_it_cleanly_and_a_rerun_stores_every_record_once",
        "test_dask_local_cluster_gives_the_same_results_as_local",
        "test_dask_run_batch_writes_the_same_rows_as_local",
        "test_detected_spans_are_stored_with_exact_offsets_and_match_dask",
    ),
    "test_batch_cli.py": (
        "test_killed_run_resumes_to_every_record_exactly_once",
    ),
    "test_semeval_cli.py": (
        "test_evaluate_semeval2023_cross_validates_on_a_few_shared_articles",
    ),
}


@pytest.hookimpl(tryfirst=True)  # before -m deselects, so that -m "not slow" sees the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    stale: set[str] = set()
    for item in items:
        names = SLOW_TESTS.get(item.path.name)
        if names is None:
            continue
        function = getattr(item, "originalname", item.name)  # without [parameters]
        if not names or function in names:
            item.add_marker(pytest.mark.slow)
        module = getattr(item, "module", None)
        stale.update(f"{item.path.name}::{name}" for name in names
                     if module is not None and not hasattr(module, name))
    if stale:  # a renamed test would silently join the fast loop
        warnings.warn(f"tests/conftest.py SLOW_TESTS names tests that no longer exist: "
                      f"{', '.join(sorted(stale))}", pytest.PytestConfigWarning, stacklevel=1)


def _needs(path: Path, what: str) -> Path:
    if not path.exists():
        pytest.skip(f"{what} is not beside the checkout")
    return path


@pytest.fixture(scope="session")
def shared_example() -> Path:
    """A real news article with its header (../shared/examples)."""
    return _needs(EXAMPLE, "../shared")


@pytest.fixture(scope="session")
def ptc_dir() -> Path:
    """The PTC training split: train-articles/ and its label files."""
    return _needs(PTC_DIR, "../shared/data/ptc-train")


@pytest.fixture(scope="session")
def ptc_articles(ptc_dir: Path) -> Path:
    return _needs(PTC_ARTICLES, "../shared/data/ptc-train/train-articles")


@pytest.fixture(scope="session")
def unlabelled_news() -> Path:
    """The unlabelled news articles (plain text with a header) used for self-training."""
    return _needs(UNLABELLED_NEWS, "../shared/data/unlabeled-news")
