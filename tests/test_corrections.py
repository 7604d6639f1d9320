"""Reviewers' corrections: the table, the gold they make, and the review API.

Databases are real DuckDB files written by the batch store; the articles and the model's
findings in them are invented here.
"""

from __future__ import annotations

import threading
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from propscan.batch.engines import Result
from propscan.batch.store import DuckDBStore
from propscan.corpus import CorpusDatabase
from propscan.corpus.corrections import (
    Correction,
    add_correction,
    corrections_for,
    gold_findings,
    reviewed_article_ids,
)
from propscan.doc import Finding
from propscan.errors import InputNotFound, InvalidRecord

LOCAL = "http://127.0.0.1:8000"

#: invented articles: id -> (title, text, the model's findings as (phrase, technique))
ARTICLES = {
    "article901": ("Harbour Town Gazette", (
        "Harbour Town Gazette\n\nThe mayor's reckless scheme will wreck our beloved harbour.\n"
        "Only traitors would vote for the bridge, say the organisers.\n"
        "Stand up for Harbour Town!\n"),
        [("reckless scheme", "Loaded_Language"), ("traitors", "Name_Calling,Labeling"),
         ("Stand up for Harbour Town!", "Slogans")]),
    "https://example.test/news/42": ("Valley Courier", (
        "Valley Courier\n\nThe committee met on Tuesday to discuss the new library.\n"
        "Critics called the plan an utter catastrophe for the valley 🌄 and its people.\n"),
        [("utter catastrophe", "Exaggeration,Minimisation")]),
    "article903": ("Quiet Notes", "Quiet Notes\n\nThe bakery opens at seven every morning.\n",
                   []),
}


def _findings(text: str, marked: list[tuple[str, str]]) -> list[Finding]:
    out = []
    for phrase, technique in marked:
        start = text.index(phrase)
        out.append(Finding(start, start + len(phrase), technique, 0.8, phrase, "invented"))
    return out


def make_db(path: Path, articles: dict = ARTICLES, failed: tuple[str, ...] = ("broken-1",)
            ) -> Path:
    """A batch database of ``articles`` (and failed records), written by the batch store."""
    results = [Result(id=aid, source=f"invented/{n}", status="ok", title=title, text=text,
                      n_words=len(text.split()), analysed=True, language="en",
                      body_start=0, body_end=len(text), spans=_findings(text, marked))
               for n, (aid, (title, text, marked)) in enumerate(articles.items())]
    results += [Result(id=fid, source="invented/bad", status="error", error="unreadable")
                for fid in failed]
    with DuckDBStore(path) as store:
        run_id = store.start_run(["invented"])
        store.set_model(run_id, {"name": "invented-model", "version": "9.9"})
        store.write(results, run_id)
        store.finish_run(run_id, len(articles), len(failed), 0)
    return path


def span_of(article_id: str, phrase: str) -> tuple[int, int]:
    text = ARTICLES[article_id][1]
    start = text.index(phrase)
    return start, start + len(phrase)


@pytest.fixture
def db(tmp_path: Path):
    with CorpusDatabase(make_db(tmp_path / "corpus.duckdb")) as database:
        yield database


def _add(db: CorpusDatabase, action: str, article_id: str = "article901",
         phrase: str | None = None, technique: str | None = None, **kw) -> Correction:
    start, end = span_of(article_id, phrase) if phrase else (None, None)
    with db.cursor() as cur:
        return add_correction(cur, Correction(article_id, kw.pop("reviewer", "Ana"), action,
                                              start, end, technique, **kw))


def _gold(db: CorpusDatabase, article_id: str = "article901") -> set[tuple[str, str]]:
    text = ARTICLES[article_id][1]
    with db.cursor() as cur:
        found = gold_findings(cur, article_id)
    assert all(text[f.start:f.end] == f.text for f in found)
    return {(f.text, f.technique) for f in found}


def test_a_correction_is_stamped_with_time_and_the_runs_model_version(db):
    stored = _add(db, "accept", phrase="traitors", technique="Name_Calling,Labeling")
    again = _add(db, "reviewed", reviewer="Ben")
    assert stored.id is not None and again.id is not None and again.id > stored.id
    assert stored.model_version == "9.9" and stored.created is not None
    with db.cursor() as cur:
        listed = corrections_for(cur, "article901")
    assert [(c.action, c.reviewer, c.source) for c in listed] == [
        ("accept", "Ana", "web"), ("reviewed", "Ben", "web")]
    assert listed[0].to_dict()["created"] == stored.created.isoformat()


def test_gold_is_the_unrejected_findings_relabelled_plus_added_fragments(db):
    _add(db, "reject", phrase="traitors", technique="Name_Calling,Labeling")
    _add(db, "relabel", phrase="Stand up for Harbour Town!", technique="Slogans",
         new_technique="Flag-Waving")
    _add(db, "add", phrase="beloved harbour", technique="Loaded_Language")
    _add(db, "reviewed")
    # "reckless scheme" was neither accepted nor rejected: it counts as accepted
    assert _gold(db) == {("reckless scheme", "Loaded_Language"),
                         ("Stand up for Harbour Town!", "Flag-Waving"),
                         ("beloved harbour", "Loaded_Language")}
    with db.cursor() as cur:
        assert reviewed_article_ids(cur) == ["article901"]
        spans = cur.execute("SELECT count(*) FROM spans WHERE article_id = 'article901'"
                            ).fetchone()[0]
    assert spans == 3  # the model's findings are never changed


def test_a_later_correction_of_the_same_finding_wins(db):
    _add(db, "reject", phrase="traitors", technique="Name_Calling,Labeling")
    _add(db, "accept", phrase="traitors", technique="Name_Calling,Labeling", reviewer="Ben")
    _add(db, "relabel", phrase="reckless scheme", technique="Loaded_Language",
         new_technique="Doubt")
    _add(db, "reject", phrase="reckless scheme", technique="Doubt")  # named by its new label
    _add(db, "add", phrase="wreck", technique="Loaded_Language")
    _add(db, "reject", phrase="wreck", technique="Loaded_Language")  # an added one, taken back
    assert _gold(db) == {("traitors", "Name_Calling,Labeling"),
                         ("Stand up for Harbour Town!", "Slogans")}


def test_imported_gold_leaves_the_models_findings_out(db):
    _add(db, "add", phrase="beloved harbour", technique="Loaded_Language")  # before: replaced
    _add(db, "reviewed", reviewer="PTC annotators", source="ptc-import")
    _add(db, "add", phrase="traitors", technique="Doubt", source="ptc-import")
    assert _gold(db) == {("traitors", "Doubt")}
    _add(db, "relabel", phrase="traitors", technique="Doubt",
         new_technique="Name_Calling,Labeling")  # a later web correction still applies
    assert _gold(db) == {("traitors", "Name_Calling,Labeling")}


def test_an_unreviewed_article_is_not_listed_and_emoji_offsets_hold(db):
    url = "https://example.test/news/42"
    _add(db, "add", url, phrase="the valley 🌄 and its people", technique="Flag-Waving")
    with db.cursor() as cur:
        assert reviewed_article_ids(cur) == []
    assert ("the valley 🌄 and its people", "Flag-Waving") in _gold(db, url)


@pytest.mark.parametrize(("kw", "error", "words"), [
    ({"action": "approve"}, InvalidRecord, "action must be one of"),
    ({"reviewer": "  "}, InvalidRecord, "reviewer name is required"),
    ({"reviewer": "x" * 101}, InvalidRecord, "over 100 characters"),
    ({"start": 5, "end": 5000}, InvalidRecord, "not inside the article's text"),
    ({"start": 9, "end": 4}, InvalidRecord, "not inside"),
    ({"technique": "Propaganda"}, InvalidRecord, "one of the 14 technique names"),
    ({"start": 0, "end": 4}, InvalidRecord, "no finding [0, 4) Loaded_Language"),
    ({"action": "relabel", "new_technique": "Loaded_Language"}, InvalidRecord,
     "other than the technique"),
    ({"source": "somewhere"}, InvalidRecord, "source must be one of"),
    ({"article_id": "article999"}, InputNotFound, "no analysed article"),
    ({"article_id": "broken-1"}, InputNotFound, "no analysed article"),
])
def test_bad_corrections_are_refused_with_one_line(db, kw, error, words):
    start, end = span_of("article901", "reckless scheme")
    fields = {"article_id": "article901", "reviewer": "Ana", "action": "accept",
              "start": start, "end": end, "technique": "Loaded_Language", **kw}
    with db.cursor() as cur, pytest.raises(error) as caught:
        add_correction(cur, Correction(**fields))
    assert words in str(caught.value) and "\n" not in str(caught.value)
    with db.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM corrections").fetchone()[0] == 0


def test_an_article_stored_before_texts_were_kept_cannot_be_marked(db):
    with db.cursor() as cur:
        cur.execute("UPDATE articles SET text = NULL WHERE id = 'article903'")
    with pytest.raises(InvalidRecord, match="stored before texts were kept"):
        _add(db, "add", "article903", phrase="bakery", technique="Loaded_Language")
    assert _add(db, "reviewed", "article903").id is not None


# ---- the HTTP API --------------------------------------------------------------------------

def _client(path: Path, read_only: bool = False) -> TestClient:
    from propscan.pipeline import Pipeline
    from propscan.web.app import create_app

    app = create_app(pipeline=Pipeline(detect=False),
                     corpus=CorpusDatabase(path, read_only=read_only), read_only=read_only)
    return TestClient(app, base_url=LOCAL)


def _url(article_id: str) -> str:
    return f"/api/v1/corpus/articles/{article_id}/corrections"


def test_review_api_records_and_lists_corrections(tmp_path):
    path = make_db(tmp_path / "corpus.duckdb")
    start, end = span_of("https://example.test/news/42", "utter catastrophe")
    with _client(path) as client:
        sent = client.post(_url("https://example.test/news/42"), json={
            "reviewer": "Ana", "action": "relabel", "start": start, "end": end,
            "technique": "Exaggeration,Minimisation", "new_technique": "Loaded_Language"})
        assert sent.status_code == 201, sent.text
        body = sent.json()
        assert body["ok"] is True and body["correction"]["model_version"] == "9.9"
        assert body["correction"]["article_id"] == "https://example.test/news/42"
        # the article view quotes the id whole (quote(id, safe="")): the same route
        listed = client.get(_url(quote("https://example.test/news/42", safe=""))
                            ).json()["corrections"]
        assert [c["id"] for c in listed] == [body["correction"]["id"]]
        assert "/api/v1/corpus/articles/{article_id}/corrections" in \
            client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"action": "reviewed"}, 422, "invalid_request"),  # no reviewer
    ({"reviewer": "Ana", "action": "add", "start": "3", "end": 9,
      "technique": "Doubt"}, 422, "invalid_request"),
    ({"reviewer": "Ana", "action": "add", "start": 3, "end": 99999,
      "technique": "Doubt"}, 422, "invalid_record"),
    ({"reviewer": "Ana", "action": "add", "start": 3, "end": 9,
      "technique": "Nonsense"}, 422, "invalid_record"),
])
def test_review_api_answers_bad_corrections_in_the_standard_shape(tmp_path, body, status, code):
    with _client(make_db(tmp_path / "corpus.duckdb")) as client:
        answer = client.post(_url("article901"), json=body)
        assert answer.status_code == status
        assert answer.json() == {"ok": False, "error": answer.json()["error"],
                                 "status": status, "code": code}
        missing = client.post(_url("article999"), json={"reviewer": "A", "action": "reviewed"})
        assert missing.status_code == 404 and missing.json()["ok"] is False


def test_a_read_only_server_refuses_corrections_with_403(tmp_path):
    with _client(make_db(tmp_path / "corpus.duckdb"), read_only=True) as client:
        answer = client.post(_url("article901"), json={"reviewer": "A", "action": "reviewed"})
        assert answer.status_code == 403 and answer.json()["code"] == "read_only"
        assert client.get(_url("article901")).json() == {"ok": True, "corrections": []}


def test_two_tabs_posting_at_once_lose_no_correction(tmp_path):
    path = make_db(tmp_path / "corpus.duckdb")
    text = ARTICLES["article901"][1]
    per_tab = 25
    start_together = threading.Barrier(2)
    answers: list[int] = []

    def tab(reviewer: str, offset: int, client: TestClient) -> None:
        start_together.wait()
        for i in range(per_tab):
            start = offset + i
            answers.append(client.post(_url("article901"), json={
                "reviewer": reviewer, "action": "add", "start": start, "end": start + 3,
                "technique": "Loaded_Language"}).status_code)

    with _client(path) as first:
        second = TestClient(first.app, base_url=LOCAL)  # another tab; no second lifespan
        tabs = [threading.Thread(target=tab, args=("Ana", 0, first)),
                threading.Thread(target=tab, args=("Ben", 30, second))]
        for thread in tabs:
            thread.start()
        for thread in tabs:
            thread.join()
        listed = first.get(_url("article901")).json()["corrections"]
    assert answers == [201] * (2 * per_tab)
    assert len(listed) == 2 * per_tab == len({c["id"] for c in listed})
    assert {(c["reviewer"], c["start"]) for c in listed} == (
        {("Ana", i) for i in range(per_tab)} | {("Ben", 30 + i) for i in range(per_tab)})
    assert len(text) > 30 + per_tab + 3
