"""The GPU procedure's unpacking: what ``scripts/gpu_session.sh`` packs into a call's files (in
parts, to fit the call's limits) comes back byte for byte where cross-fitting reads it."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def unpack(files: Path, dest: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SCRIPTS / "gpu_unpack.sh"), str(files), str(dest)],
                          capture_output=True, text=True)


def test_unpack_rebuilds_parted_caches_and_splits(tmp_path: Path) -> None:
    files, run = tmp_path / "files", tmp_path / "run"
    files.mkdir()
    # a session's run directory as gpu_session.sh leaves it, and what it packs of it
    split_file = run / "self-trained" / "fold0" / "split.json"
    split_file.parent.mkdir(parents=True)
    split_file.write_text('{"fit": ["1"], "test": ["2"]}')
    (run / "train.log").write_text("log\n")
    with tarfile.open(files / "round2.meta.tar.gz", "w:gz") as tar:
        tar.add(split_file, arcname="./self-trained/fold0/split.json")
        tar.add(run / "train.log", arcname="./train.log")
    scores, states = os.urandom(3000), os.urandom(5000)
    (files / "round2.oof_scores.npz").write_bytes(scores)
    # parts as `split -b SIZE -d FILE NAME.part` names them
    for k, start in enumerate(range(0, len(states), 2048)):
        (files / f"round2.oof_states.npz.part{k:02d}").write_bytes(states[start:start + 2048])

    done = unpack(files, tmp_path / "out")

    assert done.returncode == 0, done.stderr
    scored = tmp_path / "out" / "round2" / "self-trained"
    assert (scored / "oof_scores.npz").read_bytes() == scores
    assert (scored / "oof_states.npz").read_bytes() == states
    assert (scored / "fold0" / "split.json").read_text() == split_file.read_text()
    assert (tmp_path / "out" / "round2" / "train.log").is_file()


def test_unpack_refuses_a_folder_without_a_session(tmp_path: Path) -> None:
    done = unpack(tmp_path, tmp_path / "out")
    assert done.returncode == 1
    assert done.stdout.startswith("error: no EXPERIMENT.meta.tar.gz")
