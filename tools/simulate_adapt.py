"""Simulate a user of ``propscan adapt`` before anyone has corrections (issue 24's measurement).

A tagger trained without some PTC training articles is the base; those articles play the
user's reviewed material, imported as gold with ``propscan corrections import``; then
``propscan adapt --json`` runs with and without the PTC mix, and with ``--fine-tune`` when
``--runs`` says so (``--runs ptc,noptc,finetune``; fine-tuning reads no PTC mix). Two choices of
held-out articles:

* ``--heldout fold0``: fold 0's 75 test articles, a random draw (same domain as the rest). The
  base is ``python -m propscan.train --fold 0/5``.
* ``--heldout topic:WORD``: a topic the base never read, as a stand-in for a user's own
  material. The 371 articles are clustered by topic (TF-IDF of their words, k-means, k=6,
  seed 0) and the cluster whose centre weighs WORD most is held out (``topic:church``: 74
  articles on the Catholic church, written with more than twice the fragments per article of
  the rest). The base is trained on the other articles alone (``--all-data``).

Either base tagger: 3 + 2 epochs, attention dropout 0 (about 30 minutes on 2 idle cores). Its
decoding is the shipped one (``config.json``, ``span_model.npz``), fitted on the out-of-fold
outputs of the shipped run's fold taggers over all 371 articles, the held-out ones included:
that favours the base. The PTC mix is drawn from the base's training articles only::

    python tools/simulate_adapt.py --data ../shared/data/ptc-train --work /tmp/adapt-sim
    python tools/simulate_adapt.py --data ../shared/data/ptc-train --work /tmp/adapt-topic \\
        --heldout topic:church --runs ptc,noptc,finetune

Finished steps (the trained tagger, the imported reviews, the fine-tuned taggers in
``WORK/tuned``) are reused when run again with the same ``--work``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[1] / "src" / "propscan" / "detect" / "model"
TRAINING = ("--epochs", "3", "--joint-epochs", "2", "--attention-dropout", "0")


def run(*args: str, out: Path | None = None) -> None:
    print("$", " ".join(args), file=sys.stderr, flush=True)
    if out is None:
        subprocess.run([sys.executable, *args], check=True)
        return
    with open(out, "w") as sink:
        subprocess.run([sys.executable, *args], check=True, stdout=sink)


def topic_articles(data: Path, word: str) -> list[str]:
    """The ids of the topic cluster whose centre weighs ``word`` most."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.feature_extraction.text import TfidfVectorizer

    paths = sorted((data / "train-articles").glob("article*.txt"))
    ids = [p.stem.removeprefix("article") for p in paths]
    vectorizer = TfidfVectorizer(stop_words="english", min_df=3, max_df=0.5, sublinear_tf=True)
    x = vectorizer.fit_transform([p.read_text(encoding="utf-8") for p in paths])
    terms = list(vectorizer.get_feature_names_out())
    if word not in terms:
        raise SystemExit(f"--heldout topic:{word}: no such word in the articles' vocabulary")
    kmeans = KMeans(6, n_init=10, random_state=0).fit(x)
    cluster = int(np.argmax(kmeans.cluster_centers_[:, terms.index(word)]))
    top = np.argsort(-kmeans.cluster_centers_[cluster])[:8]
    chosen = [a for a, c in zip(ids, kmeans.labels_, strict=True) if c == cluster]
    print(f"topic {word}: {len(chosen)} articles; its top words:",
          " ".join(terms[i] for i in top), file=sys.stderr)
    return chosen


def copy_articles(data: Path, ids: list[str], to: Path) -> None:
    """PTC articles ``ids`` and their labels as a PTC training directory at ``to``."""
    (to / "train-articles").mkdir(parents=True, exist_ok=True)
    for aid in ids:
        shutil.copy(data / "train-articles" / f"article{aid}.txt", to / "train-articles")
    keep = set(ids)
    labels = (data / "train-task-flc-tc.labels").read_text().splitlines()
    (to / "train-task-flc-tc.labels").write_text(
        "".join(f"{row}\n" for row in labels if row.split("\t")[0] in keep))


def train_base(data: Path, work: Path, heldout: str) -> tuple[Path, list[str], list[str]]:
    """The base tagger's final epoch directory, the held-out ids and the base's training
    ids (training it unless a finished run is there)."""
    run_dir = work / "tagger"
    if heldout == "fold0":
        args = ["--data", str(data), "--fold", "0/5"]
    else:
        all_ids = sorted(p.stem.removeprefix("article")
                         for p in (data / "train-articles").glob("article*.txt"))
        held = topic_articles(data, heldout.removeprefix("topic:"))
        copy_articles(data, sorted(set(all_ids) - set(held)), work / "rest")
        args = ["--data", str(work / "rest"), "--all-data"]
    if not list(run_dir.glob("joint/epoch*/DONE")):
        run("-m", "propscan.train", "--run", str(run_dir), *args, *TRAINING)
    split = json.loads((run_dir / "split.json").read_text())
    if heldout == "fold0":
        held, fit = split["test"], split["fit"] + split["dev"]
    else:
        fit = split["fit"]
    assert not set(held) & set(fit)
    return max(run_dir.glob("joint/epoch*/DONE")).parent, held, fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="PTC training directory")
    parser.add_argument("--work", type=Path, required=True, help="where everything goes")
    parser.add_argument("--heldout", default="fold0", metavar="fold0|topic:WORD",
                        help="the articles that play the user's material (default: fold0)")
    parser.add_argument("--runs", default="ptc,noptc", help="adapt runs, comma-separated: "
                        "ptc, noptc, finetune (default: ptc,noptc)")
    args = parser.parse_args()
    if args.heldout != "fold0" and not args.heldout.startswith("topic:"):
        parser.error("--heldout is fold0 or topic:WORD")
    runs = {"ptc": ["--with-ptc", "PTCMIX"], "noptc": ["--no-ptc"],
            "finetune": ["--fine-tune", "--fine-tune-cache", "TUNED"]}
    if unknown := set(args.runs.split(",")) - set(runs):
        parser.error(f"unknown --runs {sorted(unknown)}")
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    final, held, fit = train_base(args.data, work, args.heldout)
    base = work / "base"
    base.mkdir(exist_ok=True)
    for name in ("model.onnx", "tokenizer.json"):
        shutil.copy(final / name, base / name)
    shutil.copy(SHIPPED / "span_model.npz", base / "span_model.npz")
    config = json.loads((SHIPPED / "config.json").read_text())
    (base / "config.json").write_text(json.dumps({**config, "version": "simulation"}))
    copy_articles(args.data, held, work / "heldout")
    copy_articles(args.data, fit, work / "ptcmix")
    db = work / "reviewed.duckdb"
    if not db.exists():
        run("-m", "propscan", "corrections", "import", "--db", str(db), "--articles",
            str(work / "heldout" / "train-articles"), "--labels",
            str(work / "heldout" / "train-task-flc-tc.labels"), "--model-dir", str(base))
    for name in args.runs.split(","):
        places = {"PTCMIX": str(work / "ptcmix"), "TUNED": str(work / "tuned")}
        mix = [places.get(a, a) for a in runs[name]]
        shutil.rmtree(work / f"adapted-{name}", ignore_errors=True)
        run("-m", "propscan", "adapt", "--db", str(db), "-o", str(work / f"adapted-{name}"),
            "--model-dir", str(base), "--force", "--json", *mix,
            out=work / f"adapt-{name}.json")
        figures = json.loads((work / f"adapt-{name}.json").read_text())
        pooled, kept = figures["pooled"], figures["adapted_config"]
        print(name, {side: {k: round(v, 4) for k, v in pooled[side].items()
                            if k in ("si_f1", "tc_micro_f1", "ece")}
                     for side in ("base", "fine_tuned_base_decoding", "adapted") if side in pooled},
              {k: kept.get(k) for k in ("technique_model", "real_model")})


if __name__ == "__main__":
    main()
