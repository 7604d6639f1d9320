"""`propscan adapt`: refitting the decoding to reviewed articles of a corpus database.

Every article here is invented: short news items that repeat a few loaded phrases. A batch run
stores them with the shipped model's findings; corrections then make the gold (the loaded
phrases, labelled consistently or contradictorily) and the articles are marked reviewed. The
shipped tagger was trained on PTC, so figures measured on PTC articles would be in-sample: the
PTC articles mixed in one test are only checked to be mixed in, never scored.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from propscan.cli import app
from propscan.corpus.corrections import Correction, add_correction
from propscan.corpus.database import CorpusDatabase
from propscan.detect import DEFAULT_MODEL_DIR
from propscan.train.adapt import assign_folds
from tests.conftest import PTC_DIR

runner = CliRunner()

LOADED: list[tuple[str, str | None]] = [  # (phrase, technique): what the invented reviewers mark
    ("corrupt career politicians", "Name_Calling,Labeling"),
    ("a catastrophe worse than anything in history", "Exaggeration,Minimisation"),
    # the shipped model flags this one, and these reviewers never count it: what adapting
    # can learn
    ("they will destroy everything we love", None),
    ("our proud and glorious homeland", "Flag-Waving"),
    ("Enough is enough", "Slogans"),
    ("every decent citizen already agrees", "Bandwagon,Reductio_ad_hitlerum"),
    ("shameful and disgusting", "Loaded_Language"),
]
TOPICS = ["harbour", "railway", "tariff", "museum", "bridge", "school", "hospital", "airport"]
NEUTRAL = [
    "The council met on Tuesday to discuss the {topic} budget for next year.",
    "A spokesperson said a decision on the {topic} would follow a public consultation.",
    "Figures published last week show the {topic} costs rose by {n} percent.",
    "Residents asked about opening hours and parking near the {topic}.",
    "The committee will publish its report on the {topic} in the spring.",
    "Engineers inspected the {topic} and found no structural problems.",
]
WITH_LOADED = [
    "Critics said the {topic} plan was drawn up by {phrase}.",
    "One speaker called the {topic} decision {phrase}.",
    "\"{phrase}\", said a protester outside the {topic} offices.",
    "The leaflet claimed that {phrase} and urged readers to act on the {topic}.",
]


def invented_article(n: int) -> str:
    rnd = random.Random(n)
    topic = TOPICS[n % len(TOPICS)]
    lines = [f"Debate over the {topic} plan, part {n}", ""]
    for i in range(9):
        if i % 2:
            phrase, _ = LOADED[rnd.randrange(len(LOADED))]
            lines.append(rnd.choice(WITH_LOADED).format(topic=topic, phrase=phrase))
        else:
            lines.append(rnd.choice(NEUTRAL).format(topic=topic, n=rnd.randrange(2, 40)))
    return "\n".join(lines) + "\n"


def write_articles(root: Path, count: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for n in range(count):
        (root / f"story{n:03d}.txt").write_text(invented_article(n), encoding="utf-8")
    return root


def loaded_fragments(text: str) -> list[tuple[int, int, str]]:
    """Every occurrence of a loaded phrase the reviewers mark in ``text``: the invented
    gold."""
    found = []
    for phrase, technique in LOADED:
        start = text.find(phrase) if technique else -1
        while start >= 0:
            found.append((start, start + len(phrase), technique))
            start = text.find(phrase, start + 1)
    return found


#: one technique per fold, none used in another fold: the contradictory reviewers' labels
FOLD_TECHNIQUES = ("Name_Calling,Labeling", "Flag-Waving", "Exaggeration,Minimisation",
                   "Loaded_Language", "Appeal_to_fear-prejudice")


def review(db: Path, count: int | None = None, *, contradictory: bool = False) -> int:
    """Correct the stored findings of ``count`` articles (all by default) and mark them
    reviewed: the loaded phrases are the gold. ``contradictory`` reviewers give every phrase
    of an article the technique of its fold (of adapt's 5), so that what the other folds teach
    is never right on the held-out one."""
    with CorpusDatabase(db) as corpus, corpus.cursor() as cur:
        rows = cur.execute("SELECT id, text FROM articles WHERE status = 'ok' ORDER BY id"
                           ).fetchall()[:count]
        fold_of = assign_folds([aid for aid, _ in rows], len(FOLD_TECHNIQUES))
        for aid, text in rows:
            gold = loaded_fragments(text)
            if contradictory:
                gold = [(s, e, FOLD_TECHNIQUES[fold_of[aid]]) for s, e, _ in gold]
            for start, end, technique in cur.execute(
                    'SELECT start, "end", technique FROM spans WHERE article_id = ?',
                    [aid]).fetchall():
                action = "accept" if (start, end, technique) in gold else "reject"
                add_correction(cur, Correction(aid, "tester", action, start, end, technique))
            for start, end, technique in gold:
                add_correction(cur, Correction(aid, "tester", "add", start, end, technique))
            add_correction(cur, Correction(aid, "tester", "reviewed"))
    return len(rows)


def analysed_batch(root: Path) -> Path:
    """A batch database of 24 invented articles analysed by the shipped model, unreviewed."""
    db = root / "corpus.duckdb"
    result = runner.invoke(app, ["batch", str(write_articles(root / "texts", 24)),
                                 "--db", str(db), "--threads", "2"])
    assert result.exit_code == 0, result.output
    return db


@pytest.fixture(scope="module")
def batch_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return analysed_batch(tmp_path_factory.mktemp("adapt"))


def reviewed_copy(batch_db: Path, tmp_path: Path, count: int | None = None,
                  contradictory: bool = False) -> Path:
    db = tmp_path / "corpus.duckdb"
    shutil.copy(batch_db, db)
    review(db, count, contradictory=contradictory)
    return db


def adapt(db: Path, out: Path, *extra: str):
    return runner.invoke(app, ["adapt", "--db", str(db), "-o", str(out), "--no-ptc",
                               "--threads", "2", *extra])


def test_adapting_on_consistent_reviews_writes_a_model_that_analyze_and_batch_use(
        batch_db: Path, tmp_path: Path) -> None:
    db = reviewed_copy(batch_db, tmp_path)
    out = tmp_path / "my-model"
    result = adapt(db, out)
    assert result.exit_code == 0, result.output
    assert "fitted fold 5/5" in result.output  # progress (stderr is mixed in by CliRunner)
    assert "| adapted |" in result.output

    base = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert config["adapted_from"] == base["version"]
    assert config["version"].startswith(base["version"] + "+adapt.")
    assert (out / "model.onnx").read_bytes() == (DEFAULT_MODEL_DIR / "model.onnx").read_bytes()
    assert (out / "span_model.npz").read_bytes() != \
        (DEFAULT_MODEL_DIR / "span_model.npz").read_bytes()
    metrics = json.loads((out / "metrics.json").read_text())
    pooled = metrics["pooled"]
    assert pooled["articles"] == 24 and len(metrics["folds"]) == 5
    assert sum(f["articles"] for f in metrics["folds"]) == 24
    assert pooled["findings"] == sum(f["findings"] for f in metrics["folds"]) > 24
    # the reviewers' gold is the loaded phrases: learning it beats the base on held-out folds
    assert pooled["adapted"]["si_f1"] >= pooled["base"]["si_f1"]
    assert pooled["adapted"]["tc_micro_f1"] >= pooled["base"]["tc_micro_f1"]
    assert "24 reviewed articles" in (out / "MODEL_CARD.md").read_text()
    # each part of the span stage says whether it was refitted or kept from the base
    assert {config["technique_model"], config["real_model"]} <= {"base", "refitted"}
    kept = [line for line in result.output.splitlines() if line.startswith("The adapted model")]
    assert len(kept) == 1 and kept[0] in (out / "MODEL_CARD.md").read_text()

    # a new article with the phrase these reviewers never count: the base model flags it,
    # the adapted one has learned not to
    unwanted = next(p for p, technique in LOADED if technique is None)
    article = tmp_path / "new.txt"
    article.write_text(next(t for t in map(invented_article, range(100, 200)) if unwanted in t),
                       encoding="utf-8")
    flagged = {}
    for name, model in (("base", DEFAULT_MODEL_DIR), ("adapted", out)):
        analysed = runner.invoke(app, ["analyze", str(article), "--model-dir", str(model),
                                       "--format", "json", "--threads", "2"])
        assert analysed.exit_code == 0, analysed.output
        spans = json.loads(analysed.output)["spans"]
        flagged[name] = any(unwanted in s["text"] for s in spans)
    assert flagged == {"base": True, "adapted": False}

    new_db = tmp_path / "again.duckdb"
    ran = runner.invoke(app, ["batch", str(article), "--db", str(new_db),
                              "--model-dir", str(out), "--threads", "2"])
    assert ran.exit_code == 0, ran.output
    con = duckdb.connect(str(new_db), read_only=True)
    try:
        assert con.execute("SELECT model_version FROM runs").fetchall() == \
            [(config["version"],)]
    finally:
        con.close()


def test_too_few_reviewed_articles_are_refused_in_one_line(batch_db: Path,
                                                           tmp_path: Path) -> None:
    db = reviewed_copy(batch_db, tmp_path, count=12)
    out = tmp_path / "my-model"
    result = adapt(db, out)
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1].startswith(
        "error: 12 reviewed articles in ")
    assert "Traceback" not in result.output
    assert not out.exists()
    # the floor is a setting; below two articles per fold is never allowed
    assert adapt(db, out, "--min-articles", "10", "--folds", "8").exit_code == 2


def test_a_model_that_scores_lower_on_held_out_articles_is_written_only_with_force(
        batch_db: Path, tmp_path: Path) -> None:
    db = reviewed_copy(batch_db, tmp_path, contradictory=True)
    out = tmp_path / "my-model"
    refused = adapt(db, out)
    assert refused.exit_code == 2, refused.output
    # a fold's technique is never in its training folds, so it is never predicted there
    assert "scores lower than the base on held-out articles (TC micro-F1)" in refused.output
    assert "nothing written" in refused.output
    assert not out.exists()
    forced = adapt(db, out, "--force")
    assert forced.exit_code == 0, forced.output
    assert "warning: the adapted model scores lower" in forced.output
    assert json.loads((out / "config.json").read_text())["version"] != \
        json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())["version"]


def test_ptc_articles_mixed_in_are_as_many_as_the_reviewed_ones(batch_db: Path,
                                                                 tmp_path: Path) -> None:
    if not PTC_DIR.is_dir():
        pytest.skip(f"no PTC data at {PTC_DIR}")
    db = reviewed_copy(batch_db, tmp_path)
    out = tmp_path / "my-model"
    result = runner.invoke(app, ["adapt", "--db", str(db), "-o", str(out), "--with-ptc",
                                 str(PTC_DIR), "--threads", "2", "--force", "--folds", "2"])
    assert result.exit_code == 0, result.output
    assert "encoding 24 PTC articles" in result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["training_articles"]["ptc"] == 24
    assert metrics["pooled"]["articles"] == 24  # figures on reviewed articles only
    assert "24 PTC training articles" in (out / "MODEL_CARD.md").read_text()


def test_bad_settings_are_refused_before_any_work(tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine", encoding="utf-8")
    missing = tmp_path / "missing.duckdb"
    assert "not an adapted model" in adapt(missing, busy).output
    assert "no such database" in adapt(missing, tmp_path / "m").output
    epochs = adapt(missing, tmp_path / "m", "--fine-tune", "--fine-tune-epochs", "0")
    assert epochs.exit_code == 2 and "--fine-tune-epochs must be at least 1" in epochs.output
    cache = adapt(missing, tmp_path / "m", "--fine-tune-cache", str(tmp_path / "cache"))
    assert cache.exit_code == 2 and "give --fine-tune too" in cache.output
    not_dir = adapt(missing, tmp_path / "m", "--fine-tune", "--fine-tune-cache",
                    str(busy / "notes.txt"))
    assert not_dir.exit_code == 2 and "not a directory" in not_dir.output


def test_folds_are_fixed_by_the_ids_and_balanced() -> None:
    ids = [f"article-{n}" for n in range(23)]
    folds = assign_folds(ids, 5)
    assert folds == assign_folds(list(reversed(ids)), 5)
    sizes = sorted(list(folds.values()).count(k) for k in range(5))
    assert sizes == [4, 4, 5, 5, 5]
