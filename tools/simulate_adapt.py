"""Simulate a user of ``propscan adapt`` before anyone has corrections (issue 24's measurement).

A fold's tagger is the base: ``python -m propscan.train --fold 0/5`` trains it on 296 PTC
training articles (3 + 2 epochs, attention dropout 0: about 30 minutes on 2 idle cores). Its
held-out 75 articles play the user's reviewed material, imported as gold with ``propscan
corrections import``. The base decoding is the shipped one (``config.json``, ``span_model.npz``):
it was fitted on the out-of-fold outputs of the shipped run's fold taggers over all 371
articles, these 75 included, so the base is favoured. The PTC mix is drawn from the fold's
training articles only. Then ``propscan adapt --json`` runs with and without the mix::

    python tools/simulate_adapt.py --data ../shared/data/ptc-train --work /tmp/adapt-sim

Finished steps are reused when run again with the same ``--work``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

SHIPPED = Path(__file__).resolve().parents[1] / "src" / "propscan" / "detect" / "model"


def run(*args: str, out: Path | None = None) -> None:
    print("$", " ".join(args), file=sys.stderr, flush=True)
    if out is None:
        subprocess.run([sys.executable, *args], check=True)
        return
    with open(out, "w") as sink:
        subprocess.run([sys.executable, *args], check=True, stdout=sink)


def prepare(data: Path, work: Path) -> None:
    """The base model directory, the held-out articles and the fold's PTC mix."""
    split = json.loads((work / "fold0" / "split.json").read_text())
    held, fit = split["test"], split["fit"] + split["dev"]
    final = max((work / "fold0" / "joint").glob("epoch*/DONE")).parent
    base = work / "base"
    base.mkdir(exist_ok=True)
    for name in ("model.onnx", "tokenizer.json"):
        shutil.copy(final / name, base / name)
    shutil.copy(SHIPPED / "span_model.npz", base / "span_model.npz")
    config = json.loads((SHIPPED / "config.json").read_text())
    (base / "config.json").write_text(json.dumps({**config, "version": "fold0-simulation"}))
    (base / "metrics.json").write_text(json.dumps({"test_ids": held}))
    labels = (data / "train-task-flc-tc.labels").read_text().splitlines()
    for name, ids in (("heldout", held), ("ptcmix", fit)):
        (work / name / "train-articles").mkdir(parents=True, exist_ok=True)
        for aid in ids:
            shutil.copy(data / "train-articles" / f"article{aid}.txt",
                        work / name / "train-articles")
        keep = set(ids)
        (work / name / "train-task-flc-tc.labels").write_text(
            "".join(f"{row}\n" for row in labels if row.split("\t")[0] in keep))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="PTC training directory")
    parser.add_argument("--work", type=Path, required=True, help="where everything goes")
    args = parser.parse_args()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    run("-m", "propscan.train", "--data", str(args.data), "--run", str(work / "fold0"),
        "--fold", "0/5", "--epochs", "3", "--joint-epochs", "2", "--attention-dropout", "0")
    prepare(args.data, work)
    db = work / "reviewed.duckdb"
    if not db.exists():
        run("-m", "propscan", "corrections", "import", "--db", str(db), "--articles",
            str(work / "heldout" / "train-articles"), "--labels",
            str(work / "heldout" / "train-task-flc-tc.labels"), "--model-dir", str(work / "base"))
    for name, mix in (("ptc", ["--with-ptc", str(work / "ptcmix")]), ("noptc", ["--no-ptc"])):
        shutil.rmtree(work / f"adapted-{name}", ignore_errors=True)
        run("-m", "propscan", "adapt", "--db", str(db), "-o", str(work / f"adapted-{name}"),
            "--model-dir", str(work / "base"), "--force", "--json", *mix,
            out=work / f"adapt-{name}.json")
        pooled = json.loads((work / f"adapt-{name}.json").read_text())["pooled"]
        print(name, {side: {k: round(v, 4) for k, v in pooled[side].items()
                            if k in ("si_f1", "tc_micro_f1", "ece")}
                     for side in ("base", "adapted")})


if __name__ == "__main__":
    main()
