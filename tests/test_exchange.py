"""Gold out and back in: PTC, SemEval-2023 and Label Studio files (texts invented here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from propscan.corpus import CorpusDatabase
from propscan.corpus.corrections import (
    Correction,
    add_correction,
    gold_findings,
    reviewed_article_ids,
)
from propscan.corpus.exchange import export_gold
from propscan.corpus.gold_import import (
    ImportSummary,
    read_label_studio_gold,
    read_ptc_gold,
    store_gold,
)
from tests.test_corrections import ARTICLES, make_db, span_of

URL_ID = "https://example.test/news/42"


def _review(path: Path) -> None:
    """Review two of the invented articles: article901 corrected, the URL one as it is."""
    with CorpusDatabase(path) as db, db.cursor() as cur:
        def add(action: str, article_id: str, phrase: str | None = None,
                technique: str | None = None, new: str | None = None) -> None:
            start, end = span_of(article_id, phrase) if phrase else (None, None)
            add_correction(cur, Correction(article_id, "Ana", action, start, end, technique,
                                           new))

        add("reject", "article901", "traitors", "Name_Calling,Labeling")
        add("relabel", "article901", "reckless scheme", "Loaded_Language", "Doubt")
        add("add", "article901", "beloved harbour", "Whataboutism,Straw_Men,Red_Herring")
        add("reviewed", "article901")
        add("reviewed", URL_ID)


def _gold_of(path: Path) -> dict[str, set[tuple[int, int, str]]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {aid: {(f.start, f.end, f.technique) for f in gold_findings(con, aid)}
                for aid in reviewed_article_ids(con)}
    finally:
        con.close()


def _export(path: Path, fmt: str, out: Path, include_all: bool = False):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return export_gold(con, fmt, out, include_all=include_all)
    finally:
        con.close()


@pytest.fixture
def reviewed_db(tmp_path: Path) -> Path:
    path = make_db(tmp_path / "corpus.duckdb")
    _review(path)
    return path


def test_ptc_export_writes_the_stored_texts_and_the_gold(reviewed_db, tmp_path):
    out = tmp_path / "ptc"
    summary = _export(reviewed_db, "ptc", out)
    assert (summary.articles, summary.fragments) == (2, 4)
    index = [line.split("\t") for line in (out / "ids.tsv").read_text().splitlines()[1:]]
    files = {pid: (label_id, name) for label_id, name, pid in index}
    assert files["article901"] == ("901", "article901.txt")
    url_label, url_file = files[URL_ID]
    assert "/" not in url_file and url_file == f"article{url_label}.txt"
    rows = {tuple(line.split("\t")) for line in (out / "labels.txt").read_text().splitlines()}
    expected = set()
    for pid, gold in _gold_of(reviewed_db).items():
        label_id, name = files[pid]
        with open(out / name, encoding="utf-8", newline="") as fh:
            text = fh.read()
        assert text == ARTICLES[pid][1]
        expected |= {(label_id, t, str(s), str(e)) for s, e, t in gold}
    assert rows == expected
    # the URL article was reviewed without corrections: its gold is the model's finding
    start, end = span_of(URL_ID, "utter catastrophe")
    assert (url_label, "Exaggeration,Minimisation", str(start), str(end)) in rows
    assert ("901", "Name_Calling,Labeling") not in {r[:2] for r in rows}  # rejected
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["ids.tsv", "labels.txt", "article901.txt", url_file])  # article903: not reviewed


def test_semeval2023_export_renames_and_counts_the_split_classes(reviewed_db, tmp_path):
    con = duckdb.connect(str(reviewed_db))
    con.execute("UPDATE spans SET technique_2023 = 'Appeal_to_Values' "
                "WHERE technique = 'Exaggeration,Minimisation'")
    con.close()
    summary = _export(reviewed_db, "semeval2023", tmp_path / "se")
    names = sorted(line.split("\t")[1]
                   for line in (tmp_path / "se" / "labels.txt").read_text().splitlines())
    assert names == sorted(["Appeal_to_Values",  # the model's SemEval-2023 name wins
                            "Doubt",  # relabelled to a PTC name: renamed 1:1
                            "Slogans",
                            "Whataboutism,Straw_Men,Red_Herring"])  # split: kept, counted
    assert summary.merged_names == 1


def test_label_studio_round_trip_gives_the_same_gold(reviewed_db, tmp_path):
    tasks_path = tmp_path / "tasks.json"
    summary = _export(reviewed_db, "label-studio", tasks_path, include_all=True)
    assert (summary.articles, summary.predictions_only) == (2, 1)
    tasks = json.loads(tasks_path.read_text(encoding="utf-8"))
    for task in tasks:
        text = task["data"]["text"]
        regions = [r for p in task["predictions"] for r in p["result"]]
        regions += [r for a in task.get("annotations", []) for r in a["result"]]
        for region in regions:
            value = region["value"]
            assert text[value["start"]:value["end"]] == value["text"]
            assert region["type"] == "labels" and len(value["labels"]) == 1
    assert {t["data"]["propscan_id"] for t in tasks if "annotations" not in t} == {"article903"}
    assert tasks[0]["predictions"][0]["model_version"] == "9.9"
    fresh = tmp_path / "fresh.duckdb"
    done = ImportSummary()
    store_gold(fresh, read_label_studio_gold(tasks_path, done), "label-studio-import",
               detect=False, summary=done)
    assert (done.articles, done.ingested, dict(done.skipped)) == (2, 2, {"no annotation": 1})
    assert _gold_of(fresh) == _gold_of(reviewed_db)
    # back into the database it came from: the same gold, now imported
    again = store_gold(reviewed_db, read_label_studio_gold(tasks_path), "label-studio-import",
                       detect=False)
    assert (again.articles, again.ingested) == (2, 0)
    assert _gold_of(fresh) == _gold_of(reviewed_db)


def test_label_studio_import_places_tasks_by_text_and_skips_what_it_cannot_use(tmp_path):
    path = make_db(tmp_path / "corpus.duckdb")
    text = ARTICLES[URL_ID][1]
    phrase = "the valley 🌄 and its people"
    start = text.index(phrase)
    utf16_start = len(text[:start].encode("utf-16-le")) // 2

    def task(labels: list[str], start_at: int, end_at: int, **data) -> dict:
        return {"data": {"text": text, **data}, "annotations": [
            {"was_cancelled": True, "result": []},
            {"completed_by": {"email": "cy@example.test"}, "result": [
                {"type": "labels", "value": {"start": start_at, "end": end_at,
                                             "text": phrase, "labels": labels}}]}]}

    utf16_end = utf16_start + len(phrase.encode("utf-16-le")) // 2
    tasks = [task(["Flag_Waving"], utf16_start, utf16_end),  # browser offsets, 2023 name
             task(["Smear"], start, start + len(phrase)),
             task(["Doubt"], start + 1, start + len(phrase) + 1)]
    (tmp_path / "tasks.json").write_text(json.dumps(tasks), encoding="utf-8")
    summary = ImportSummary()
    gold = read_label_studio_gold(tmp_path / "tasks.json", summary)
    store_gold(path, gold, "label-studio-import", detect=False, summary=summary)
    assert dict(summary.skipped) == {"unknown technique 'Smear'": 1,
                                     "region offsets do not match the text": 1}
    assert (summary.articles, summary.ingested) == (1, 0)  # matched by its text
    assert _gold_of(path) == {URL_ID: {(start, start + len(phrase), "Flag-Waving")}}
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT DISTINCT reviewer FROM corrections").fetchall() == [
        ("label-studio:cy@example.test",)]
    con.close()


def _write_ptc(folder: Path) -> tuple[Path, Path, dict[str, str]]:
    """Invented PTC-style files: two labelled articles, one without labels."""
    folder.mkdir()
    texts = {"7001": "Bridge Plan Fails\n\nThe mayor's shameful bridge is a betrayal.\r\n"
                     "Make the harbour great again!\n",
             "7002": "Weather Today\n\nThose fools at the weather office got it wrong.\n",
             "7003": "Library Hours\n\nThe library opens at nine.\n"}
    for number, text in texts.items():
        with open(folder / f"article{number}.txt", "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    rows = []
    for number, phrase, technique in [("7001", "shameful", "Loaded_Language"),
                                      ("7001", "a betrayal", "Name_Calling,Labeling"),
                                      ("7001", "Make the harbour great again!", "Slogans"),
                                      ("7002", "Those fools", "Name_Calling,Labeling")]:
        start = texts[number].index(phrase)
        rows.append(f"{number}\t{technique}\t{start}\t{start + len(phrase)}\n")
    labels = folder.parent / "ptc.labels"
    labels.write_text("".join(rows), encoding="utf-8")
    return folder, labels, texts


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "propscan", "corrections", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_ptc_import_ingests_and_analyses_the_articles_and_gives_the_gold_written(tmp_path):
    folder, labels, texts = _write_ptc(tmp_path / "articles")
    db = tmp_path / "gold.duckdb"
    done = _cli("import", "--articles", folder, "--labels", labels, "--db", db)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == ("imported 3 articles, 4 fragments "
                                   "(3 new articles ingested)")
    expected = {}
    for line in labels.read_text().splitlines():
        number, technique, start, end = line.split("\t")
        expected.setdefault(f"article{number}", set()).add((int(start), int(end), technique))
    assert _gold_of(db) == {**expected, "article7003": set()}
    con = duckdb.connect(str(db), read_only=True)
    stored = dict(con.execute("SELECT id, text FROM articles WHERE status = 'ok'").fetchall())
    model = con.execute("SELECT model_name FROM runs").fetchone()[0]
    con.close()
    assert stored == {f"article{n}": text for n, text in texts.items()}  # \r\n kept
    assert model != "none"  # detection ran: the model's findings sit beside the gold
    # the same labels again: the import replaces the gold, it does not double it
    assert _cli("import", "--articles", folder, "--labels", labels, "--db", db,
                "--no-detect").returncode == 0
    assert _gold_of(db) == {**expected, "article7003": set()}


def test_ptc_export_then_import_keeps_ids_and_gold(reviewed_db, tmp_path):
    out = tmp_path / "ptc"
    done = _cli("export", "--db", reviewed_db, "--format", "ptc", "-o", out)
    assert done.returncode == 0 and "exported 2 reviewed articles, 4 gold fragments" in \
        done.stderr
    summary = ImportSummary()
    gold = read_ptc_gold(out, out / "labels.txt", summary=summary)
    store_gold(tmp_path / "back.duckdb", gold, "ptc-import", detect=False, summary=summary)
    assert _gold_of(tmp_path / "back.duckdb") == _gold_of(reviewed_db)


def test_semeval2023_export_from_the_cli_warns_about_merged_names(reviewed_db, tmp_path):
    done = _cli("export", "--db", reviewed_db, "--format", "semeval2023", "-o", tmp_path / "o")
    assert done.returncode == 0
    assert "warning: 1 fragments of a PTC class SemEval-2023 split" in done.stderr


def _bad_inputs(tmp: Path) -> dict[str, tuple[list[str | Path], str]]:
    folder, labels, _ = _write_ptc(tmp / "articles")
    (tmp / "three.labels").write_text("7001\tDoubt\t3\n")
    (tmp / "word.labels").write_text("7001\tDoubt\tthree\t9\n")
    (tmp / "unknown.labels").write_text("7001\tSmear\t3\t9\n")
    (tmp / "outside.labels").write_text("7001\tDoubt\t3\t90000\n")
    (tmp / "latin1.labels").write_bytes("7001\tDoubt\t3\t9 \xe9\n".encode("latin-1"))
    (tmp / "broken.json").write_text('[{"data": ')
    (tmp / "object.json").write_text('"tasks"')
    (tmp / "full").mkdir()
    (tmp / "full" / "x.txt").write_text("x")
    db = tmp / "db.duckdb"
    ptc = ["import", "--db", db, "--articles", folder, "--labels"]
    return {
        "three fields": ([*ptc, tmp / "three.labels"], "expected 4 tab-separated fields"),
        "not a number": ([*ptc, tmp / "word.labels"], "expected an integer offset"),
        "technique": ([*ptc, tmp / "unknown.labels"], "unknown technique 'Smear'"),
        "outside": ([*ptc, tmp / "outside.labels"], "is not inside"),
        "encoding": ([*ptc, tmp / "latin1.labels"], "not UTF-8"),
        "no labels file": ([*ptc, tmp / "none.labels"], "labels file not found"),
        "no folder": (["import", "--db", db, "--articles", tmp / "nowhere", "--labels",
                       labels], "no such folder"),
        "broken json": (["import", tmp / "broken.json", "--db", db], "not valid JSON"),
        "not tasks": (["import", tmp / "object.json", "--db", db], "a JSON list of tasks"),
        "both": (["import", tmp / "broken.json", "--db", db, "--articles", folder],
                 "not both"),
        "neither": (["import", "--db", db], "give a Label Studio TASKS file"),
        "no database": (["export", "--db", tmp / "none.duckdb", "--format", "ptc", "-o",
                         tmp / "out"], "no such database"),
        "not a database": (["export", "--db", tmp / "full" / "x.txt", "--format", "ptc", "-o",
                       tmp / "full"], "database"),
    }


BAD = ["three fields", "not a number", "technique", "outside", "encoding", "no labels file",
       "no folder", "broken json", "not tasks", "both", "neither", "no database", "not a database"]


@pytest.mark.parametrize("case", BAD)
def test_bad_inputs_give_one_line_and_change_nothing(tmp_path, case):
    args, words = _bad_inputs(tmp_path)[case]
    done = _cli(*args)
    assert done.returncode not in (0, 1), done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines
    assert "Traceback" not in done.stderr + done.stdout
    assert not (tmp_path / "db.duckdb").exists()  # refused before the database was touched


def test_export_refuses_a_directory_that_is_not_empty(reviewed_db, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.txt").write_text("old")
    done = _cli("export", "--db", reviewed_db, "--format", "ptc", "-o", tmp_path / "full")
    assert done.returncode == 2 and done.stderr.strip() == (
        f"error: -o {tmp_path / 'full'} is not empty; give a new or empty directory")


def test_malformed_label_studio_tasks_are_skipped_with_their_reason(tmp_path):
    tasks = [1, {"data": 5}, {"data": {"text": "An invented line."}, "annotations": 7},
             {"data": {"text": "Another invented line."}, "annotations": [
                 {"result": [{"type": "labels", "value": {"start": "0", "end": 7,
                                                          "labels": ["Doubt"]}}]}]},
             {"data": {"text": "A third invented line."}, "annotations": [
                 {"result": [{"type": "choices", "value": {"choices": ["x"]}}]}]}]
    (tmp_path / "tasks.json").write_text(json.dumps(tasks))
    summary = ImportSummary()
    gold = read_label_studio_gold(tmp_path / "tasks.json", summary)
    assert dict(summary.skipped) == {"no data.text": 2, "no annotation": 1,
                                     "a region without integer start/end": 1}
    assert [(g.text, g.fragments) for g in gold] == [("A third invented line.", [])]


def test_ptc_label_ids_cannot_reach_files_outside_the_folder(tmp_path):
    folder, _, _ = _write_ptc(tmp_path / "articles")
    (tmp_path / "secret.txt").write_text("Not an article of the folder.\n")
    labels = tmp_path / "escape.labels"
    labels.write_text("../secret\tDoubt\t0\t3\n")
    summary = ImportSummary()
    gold = read_ptc_gold(folder, labels, summary=summary)
    assert sorted(g.article_id for g in gold) == ["article7001", "article7002", "article7003"]
    assert dict(summary.skipped) == {"no article file for its label rows": 1}


def test_a_byte_order_mark_opening_a_ptc_file_shifts_its_offsets_with_the_stored_text(
        tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    text = "\ufeffHeadline\n\nThey are cowards, all of them.\n"
    (folder / "article8001.txt").write_text(text, encoding="utf-8")
    start = text.index("cowards")
    labels = tmp_path / "bom.labels"
    labels.write_text(f"8001\tName_Calling,Labeling\t{start}\t{start + 7}\n8001\tDoubt\t0\t1\n")
    summary = ImportSummary()
    gold = read_ptc_gold(folder, labels, summary=summary)
    db = tmp_path / "bom.duckdb"
    store_gold(db, gold, "ptc-import", detect=False, summary=summary)
    assert summary.articles == 1 and dict(summary.dropped) == {"only the byte-order mark": 1}
    con = duckdb.connect(str(db), read_only=True)
    stored = con.execute("SELECT text FROM articles").fetchone()[0]
    found = gold_findings(con, "article8001")
    con.close()
    assert stored == text[1:]
    assert [(stored[f.start:f.end], f.technique) for f in found] == [
        ("cowards", "Name_Calling,Labeling")]
