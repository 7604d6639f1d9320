"""The GPU procedure (tools/gpu/): what ``gpu_session.sh`` packs into a call's files (in parts, to
fit the call's limits) comes back byte for byte where cross-fitting reads it; a tagger trained
from the pack is restored whole; the scripts call each other by paths that exist."""

from __future__ import annotations

import os
import re
import subprocess
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / "tools" / "gpu"


def unpack(files: Path, dest: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(TOOLS / "gpu_unpack.sh"), str(files), str(dest)],
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


def test_the_scripts_name_only_paths_that_exist() -> None:
    # gpu_session.sh runs from the repository root; the README's commands do too
    named = set()
    for doc in ("gpu_session.sh", "gpu_unpack.sh", "gpu_pack.py", "gpu_tagger.py", "README.md"):
        named |= set(re.findall(r"(?:tools|benchmarks|src)/[\w/.-]+\.(?:py|sh|md)",
                                (TOOLS / doc).read_text(encoding="utf-8")))
    assert "tools/gpu/gpu_tagger.py" in named
    assert [path for path in sorted(named) if not (REPO / path).is_file()] == []


def test_session_without_experiments_prints_its_usage() -> None:
    done = subprocess.run(["bash", str(TOOLS / "gpu_session.sh")], capture_output=True,
                          text=True, env={**os.environ, "OUT": "/nonexistent"})
    assert done.returncode == 2
    assert done.stdout.startswith("usage: bash tools/gpu/gpu_session.sh")


def _gpu_tagger():
    import importlib.util
    import sys

    if str(TOOLS) not in sys.path:  # it imports gpu_pack, as when run from tools/gpu/
        sys.path.insert(0, str(TOOLS))
    spec = importlib.util.spec_from_file_location("gpu_tagger", TOOLS / "gpu_tagger.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _train_words(init, batches: list[list[int]]):
    """Word embeddings trained as the tagger's are (AdamW, weight decay 0.01, warm-up then
    linear decay), on a loss that reads only the looked-up rows."""
    import torch

    words = torch.nn.Parameter(init.clone())
    opt = torch.optim.AdamW([words], lr=0.05, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / 2, max(0.0, (len(batches) - s) / len(batches))))
    for ids in batches:
        loss = (words[torch.tensor(ids)] - 1.0).pow(2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return words.detach()


def test_a_tagger_trained_from_the_pack_is_restored_to_the_packages_training(
        tmp_path: Path) -> None:
    import lzma

    import pytest

    torch = pytest.importorskip("torch")
    from safetensors.torch import save, save_file

    gpu_tagger = _gpu_tagger()
    torch.manual_seed(0)
    pretrained = torch.randn(40, 6)
    text_ids, sentinels = list(range(4, 20)), [30, 33]
    kept = sorted(text_ids + sentinels)
    batches = [text_ids[i:i + 5] for i in range(0, 16, 3)] * 4
    # the pack: its rows of the texts and the sentinels, in fp16; every other row zero
    packed_init = torch.zeros_like(pretrained)
    packed_init[kept] = pretrained[kept].half().float()
    from_pack = _train_words(packed_init, batches)
    from_package = _train_words(pretrained, batches)

    base_pack, base_weights = tmp_path / "pack.xz", tmp_path / "model.safetensors"
    base_pack.write_bytes(lzma.compress(save({
        "kept_token_ids": torch.tensor(kept, dtype=torch.int32),
        "sentinel_token_ids": torch.tensor(sentinels, dtype=torch.int32),
        "vocab_size": torch.tensor(40)})))
    save_file({gpu_tagger.BASE_WORDS: pretrained}, str(base_weights))
    tagger = tmp_path / "tagger.pt"
    torch.save({gpu_tagger.TAGGER_WORDS: from_pack, "head.bias": torch.ones(3)}, tagger)

    gpu_tagger.pack(tagger, tmp_path / "tagger.xz", base_pack)
    factor = gpu_tagger.restore(tmp_path / "tagger.xz", tmp_path / "whole.pt", base_weights)

    whole = torch.load(tmp_path / "whole.pt")
    assert 0.99 < factor < 1.0  # weight decay shrank the rows no gradient reached
    # every row as training from the package gave it, up to the fp16 transport
    assert torch.allclose(whole[gpu_tagger.TAGGER_WORDS], from_package, rtol=2e-3, atol=1e-3)
    assert torch.equal(whole["head.bias"], torch.ones(3))

    # a row outside the pack that training moved (another text's token) is refused
    moved = from_pack.clone()
    moved[0] += 0.1
    torch.save({gpu_tagger.TAGGER_WORDS: moved}, tagger)
    with pytest.raises(SystemExit, match="outside the pack"):
        gpu_tagger.pack(tagger, tmp_path / "bad.xz", base_pack)
