"""Adapting from the explorer (/api/v1/corpus/adapt): the real app (TestClient) over a real
batch database of tests.test_adapt's invented articles, reviewed by its invented reviewers."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from propscan.corpus.database import CorpusDatabase
from propscan.detect import DEFAULT_MODEL_DIR
from propscan.pipeline import Pipeline
from propscan.web.app import create_app
from tests.test_adapt import analysed_batch, invented_article, reviewed_copy

LOCAL = "http://127.0.0.1"
BASE_VERSION = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())["version"]


@pytest.fixture(scope="module")
def batch_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return analysed_batch(tmp_path_factory.mktemp("adapt-web"))


def wait_for_job(client: TestClient, limit_s: float = 600) -> tuple[dict[str, Any],
                                                                    list[dict[str, Any]]]:
    """The job's final state, and the running states seen on the way."""
    seen = []
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        job = client.get("/api/v1/corpus/adapt").json()
        if job["state"] != "running":
            return job, seen
        seen.append(job)
        time.sleep(0.2)
    raise AssertionError(f"the adaptation still runs after {limit_s} s: {seen[-1:]}")


def analysed_version(client: TestClient) -> str:
    r = client.post("/api/v1/analyze", json={"text": invented_article(150)})
    assert r.status_code == 200, r.text
    return r.json()["model"]["version"]


def test_too_few_reviewed_articles_are_refused_with_the_floor(batch_db: Path,
                                                              tmp_path: Path) -> None:
    db = reviewed_copy(batch_db, tmp_path, count=12)
    app = create_app(pipeline=Pipeline(threads=2), corpus=CorpusDatabase(db))
    with TestClient(app, base_url=LOCAL) as client:
        idle = client.get("/api/v1/corpus/adapt").json()
        assert idle["state"] == "idle" and idle["reviewed"] == 12 and idle["floor"] == 20
        assert "20 reviewed articles or more" in idle["floor_note"]
        assert idle["unavailable"] is None
        assert idle["serving"]["version"] == BASE_VERSION
        page = client.get("/corpus")
        assert 'id="adapt"' in page.text and 'id="adapt-start"' in page.text
        assert "script-src 'sha256-" in page.headers["Content-Security-Policy"]

        started = client.post("/api/v1/corpus/adapt")
        assert started.status_code == 202 and started.json()["state"] == "running"
        job, _ = wait_for_job(client, 120)
        assert job["state"] == "refused" and job["written"] is False
        assert job["reason"].startswith("12 reviewed articles with text; adapting needs 20")
        assert not Path(f"{db}.models").exists()
        nothing = client.post("/api/v1/corpus/adapt/switch")
        assert nothing.status_code == 409 and nothing.json()["ok"] is False


@pytest.mark.slow
def test_adapt_then_switch_and_analyses_record_the_adapted_version(batch_db: Path,
                                                                   tmp_path: Path) -> None:
    db = reviewed_copy(batch_db, tmp_path)
    app = create_app(pipeline=Pipeline(threads=2), corpus=CorpusDatabase(db))
    with TestClient(app, base_url=LOCAL) as client:
        assert client.post("/api/v1/corpus/adapt").status_code == 202
        second = client.post("/api/v1/corpus/adapt")
        assert second.status_code == 409 and "running already" in second.json()["error"]
        job, running = wait_for_job(client)
        assert job["state"] == "done", job
        # progress: the stage, and the fold being fitted (one after another, seconds each)
        fitting = [r for r in running if r["fold"] is not None]
        assert fitting and all(1 <= r["fold"] <= r["folds"] == 5 for r in fitting)
        assert any(r["stage"].startswith("encoding 24 reviewed articles") for r in running)

        version = job["version"]
        assert version.startswith(BASE_VERSION + "+adapt.") and job["written"] is True
        assert job["articles"] == 24 and job["findings"] > 24
        assert job["base_version"] == BASE_VERSION
        # the invented reviewers' gold is learnable: the adapted model is not worse
        assert job["adapted"]["si_f1"] >= job["base"]["si_f1"]
        assert Path(job["model_dir"]) == Path(f"{db}.models") / version
        config = json.loads((Path(job["model_dir"]) / "config.json").read_text())
        assert config["version"] == version and config["adapted_from"] == BASE_VERSION
        # which parts of the span stage were refitted or kept, as the command line says it
        assert job["parts"].startswith("The adapted model ")
        assert ("technique classifier" in job["parts"]) and ("p(real)" in job["parts"])

        assert analysed_version(client) == BASE_VERSION  # written, not yet serving
        switched = client.post("/api/v1/corpus/adapt/switch")
        assert switched.status_code == 200, switched.text
        assert switched.json()["serving"]["version"] == version
        assert analysed_version(client) == version
        assert client.get("/healthz").json()["model"]["version"] == version
        lanes = app.state.serving["lanes"]
        assert [lane.pipeline.model_info["version"] for lane in lanes] == [version, version]
        assert client.get("/api/v1/corpus/adapt").json()["serving"]["version"] == version
        # switching again changes nothing
        again = client.post("/api/v1/corpus/adapt/switch")
        assert again.status_code == 200 and again.json()["serving"]["version"] == version


def test_read_only_servers_offer_no_adapting(batch_db: Path, tmp_path: Path) -> None:
    db = reviewed_copy(batch_db, tmp_path, count=2)
    app = create_app(pipeline=Pipeline(detect=False), corpus=CorpusDatabase(db, read_only=True))
    with TestClient(app, base_url=LOCAL) as client:
        assert client.get("/corpus").status_code == 200
        for call in (client.get, client.post):
            r = call("/api/v1/corpus/adapt")
            assert r.status_code in (404, 405) and r.json()["ok"] is False
        assert client.post("/api/v1/corpus/adapt/switch").status_code == 404


def test_without_a_detection_model_adapting_is_unavailable(batch_db: Path,
                                                           tmp_path: Path) -> None:
    db = reviewed_copy(batch_db, tmp_path, count=2)
    app = create_app(pipeline=Pipeline(detect=False), corpus=CorpusDatabase(db))
    with TestClient(app, base_url=LOCAL) as client:
        idle = client.get("/api/v1/corpus/adapt").json()
        assert idle["state"] == "idle" and "not loaded" in idle["unavailable"]
        refused = client.post("/api/v1/corpus/adapt")
        assert refused.status_code == 503 and "cannot adapt" in refused.json()["error"]
        assert client.get("/api/v1/corpus/adapt").json()["state"] == "idle"


def test_the_web_floor_is_the_command_line_floor() -> None:
    from propscan.train.adapt import DEFAULT_FOLDS, DEFAULT_MIN_ARTICLES
    from propscan.web.adapt_jobs import FLOOR, FOLDS

    assert FOLDS == DEFAULT_FOLDS
    assert max(DEFAULT_MIN_ARTICLES, 2 * DEFAULT_FOLDS) == FLOOR
