"""Training smoke test: a real fine-tuning step on two PTC articles, exported and reloaded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from propscan.detect import Detector

pytest.importorskip("torch")
pytest.importorskip("transformers")


def test_one_epoch_on_two_articles_exports_a_loadable_int8_model(tmp_path: Path,
                                                                  ptc_articles: Path) -> None:
    from propscan.train.config import TrainConfig
    from propscan.train.data import load_ptc, split_ids
    from propscan.train.trainer import train

    run = tmp_path / "run"
    train(ptc_articles.parent, run, TrainConfig(epochs=1, batch_size=8, threads=2,
                                                max_articles=2, fold=(0, 5),
                                                attention_dropout=0.0, seed=7, split_seed=13))
    split = json.loads((run / "split.json").read_text())
    assert len(split["fit"]) == 2 and not set(split["fit"]) & set(split["test"])
    assert split["attention_dropout"] == 0.0  # the recipe is recorded with the run
    assert split["seed"] == 7 and split["device"] == "cpu"
    # the folds follow split_seed, not the training seed: seed ensembles can share folds
    ids = list(load_ptc(ptc_articles.parent)[0])
    assert split["test"] == split_ids(ids, seed=13, fold=(0, 5))[2]
    assert split["test"] != split_ids(ids, seed=7, fold=(0, 5))[2]
    model_dir = run / "epoch1"
    assert (model_dir / "DONE").is_file()
    assert (model_dir / "model.onnx").stat().st_size < 40e6  # int8: the shipping budget
    detector = Detector(model_dir, threads=2).load()
    text = "The so-called experts keep lying to you."
    scores, states = detector.encode([text])[0]
    assert scores.shape == (len(text), 15)
    assert np.all((scores >= 0) & (scores <= 1))
    assert states is not None and states.proj.shape == (len(states.offsets), 28)
    assert "epoch 1 mean loss" in (run / "train.log").read_text()
    assert (run / "tagger.pt").is_file()


def test_span_head_pooling_at_inference_equals_the_trained_head() -> None:
    """The exported graph gives per-token shares of the span head; averaging them over a
    fragment and its context must give the head's own logits (the decomposition is exact)."""
    import torch
    from transformers import AutoModel

    from propscan.detect.span_model import TokenStates, span_head_log_probs
    from propscan.detect.windows import load_tokenizer, tokenize
    from propscan.train.model import Tagger, base_model_path

    torch.manual_seed(0)
    model = Tagger(AutoModel.from_pretrained(str(base_model_path()))).eval()
    tokenizer = load_tokenizer(base_model_path() / "tokenizer.json")
    text = "They call it a reform, but this so-called reform is a shameless theft of our land."
    ids, offsets = tokenize(tokenizer, text)
    window = torch.tensor([[tokenizer.token_to_id("[CLS]"), *ids,
                            tokenizer.token_to_id("[SEP]")]])
    start = text.index("so-called reform")
    end = start + len("so-called reform")
    with torch.no_grad():
        _, proj = model(window, torch.ones_like(window))
        hidden = model.hidden(window, torch.ones_like(window))
        first = int(np.searchsorted(offsets[:, 1], start, side="right"))
        last = int(np.searchsorted(offsets[:, 0], end, side="left"))
        spans = torch.tensor([[0, first + 1, last + 1, 0]])  # window positions: [CLS] is 0
        expected = torch.log_softmax(model.span_logits(hidden, spans,
                                                       torch.tensor([len(ids)])), dim=-1)
    got = span_head_log_probs(TokenStates(offsets, proj[0, 1:-1].numpy()), [(start, end)])
    np.testing.assert_allclose(got, expected.numpy(), atol=1e-4)


def test_training_windows_carry_the_gold_fragments_in_window_positions(ptc_articles: Path) -> None:
    from propscan.detect.windows import load_tokenizer
    from propscan.train.data import build_examples, load_ptc
    from propscan.train.model import base_model_path

    texts, labels = load_ptc(ptc_articles.parent)
    aid = max(texts, key=lambda a: len(texts[a]))  # long enough for several windows
    tokenizer = load_tokenizer(base_model_path() / "tokenizer.json")
    examples = build_examples(tokenizer, texts, labels, [aid])
    assert len(examples) > 1 and sum(len(e.spans) for e in examples) >= len(labels[aid])
    for e in examples:
        content = int(e.mask.sum())
        for first, end, tech in e.spans:
            assert 1 <= first < end <= 1 + content  # inside the content, [CLS] is 0
            # every token of the fragment is a target of its technique, and inside
            assert e.labels[first:end, 0].all() and e.labels[first:end, 1 + tech].all()


def test_cli_refuses_bad_options_before_any_work(tmp_path: Path) -> None:
    """Bad training options end in one usage error (exit 2), before any work starts."""
    import subprocess
    import sys

    import torch

    from propscan.errors import ConfigError

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "propscan.train", "--data", str(tmp_path),
                               "--run", str(tmp_path / "run"), *args],
                              capture_output=True, text=True, timeout=120)

    zero = run("--folds", "5", "--jobs", "0")
    assert zero.returncode == 2 and "--jobs: must be at least 1, not 0" in zero.stderr
    alone = run("--unlabelled", str(tmp_path))
    assert alone.returncode == 2 and "--unlabelled needs --folds" in alone.stderr
    missing = run("--folds", "5", "--unlabelled", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "--unlabelled: no such directory" in missing.stderr
    layers_alone = run("--folds", "5", "--student-layers", "3")
    assert layers_alone.returncode == 2 and "--student-layers needs --unlabelled" in \
        layers_alone.stderr
    too_deep = run("--folds", "5", "--unlabelled", str(tmp_path), "--student-layers", "7")
    assert too_deep.returncode == 2 and "the base encoder has 6 layers, not 7" in too_deep.stderr
    mpnet_folds = run("--folds", "5", "--encoder", "mpnet")
    assert mpnet_folds.returncode == 2 and "with --folds use --teacher-encoder" in \
        mpnet_folds.stderr
    mpnet_alone = run("--folds", "5", "--teacher-encoder", "mpnet")
    assert mpnet_alone.returncode == 2 and "--teacher-encoder needs --unlabelled" in \
        mpnet_alone.stderr
    no_folds = run("--scores-only")
    assert no_folds.returncode == 2 and "--scores-only needs --folds" in no_folds.stderr
    all_data_alone = run("--all-data-model")
    assert all_data_alone.returncode == 2 and "--all-data-model needs --folds" in \
        all_data_alone.stderr
    installs = run("--folds", "5", "--scores-only", "--install", str(tmp_path / "model"))
    assert installs.returncode == 2 and "--scores-only installs nothing" in installs.stderr
    no_unlabelled = run("--folds", "5", "--teachers", str(tmp_path))
    assert no_unlabelled.returncode == 2 and "--teachers needs --unlabelled" in \
        no_unlabelled.stderr
    no_teachers = run("--folds", "5", "--unlabelled", str(tmp_path), "--teachers",
                      str(tmp_path / "nope"))
    assert no_teachers.returncode == 2 and "--teachers: no such directory" in no_teachers.stderr
    # a teachers directory without finished models: one line, before any training
    (tmp_path / "teachers" / "fold0").mkdir(parents=True)
    unfinished = run("--folds", "5", "--unlabelled", str(tmp_path), "--teachers",
                     str(tmp_path / "teachers"))
    assert unfinished.returncode == ConfigError.exit_code and "Traceback" not in \
        unfinished.stderr
    assert unfinished.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'teachers' / 'fold0'} holds no finished model to teach with "
        "(joint/tagger.pt and joint/epoch*/DONE)"]
    # TrainConfig's checks, in one line, before torch trains anything
    bad_fold = run("--fold", "5/5")
    assert bad_fold.returncode == ConfigError.exit_code
    assert bad_fold.stderr == ("error: The 'fold' parameter of TrainConfig must be None or (k, n) "
                               "with 0 <= k < n and n >= 2. Got (5, 5) instead.\n")
    not_a_fold = run("--fold", "first")
    assert not_a_fold.stderr == "error: --fold must be K/N, e.g. 0/5. Got 'first' instead.\n"
    if not torch.cuda.is_available():
        gpu = run("--device", "cuda")
        assert gpu.returncode == 2 and "sees no CUDA device" in gpu.stderr
        assert "Traceback" not in gpu.stderr
    assert not (tmp_path / "run").exists()


_INVENTED = ("Invented for this test. The council voted on Tuesday to repair the old bridge. "
             "Critics called the plan a shameless waste, while supporters said it was overdue. ")


def test_self_training_student_learns_from_the_teachers_labels_of_unlabelled_articles(
        tmp_path: Path, ptc_articles: Path) -> None:
    import torch

    from propscan.train.config import TrainConfig
    from propscan.train.model import new_tagger
    from propscan.train.recipe import train_two_stage

    unlabelled = tmp_path / "unlabelled"
    unlabelled.mkdir()
    for i in range(3):
        (unlabelled / f"article{i}.txt").write_text(_INVENTED * (1 + 40 * i), encoding="utf-8")
    teacher = tmp_path / "teacher.pt"
    torch.manual_seed(0)
    torch.save(new_tagger().state_dict(), teacher)
    student = tmp_path / "student"
    config = TrainConfig(epochs=1, joint_epochs=1, unlabelled=unlabelled, export=False,
                         max_articles=2, fold=(0, 5), attention_dropout=0.0)
    final = train_two_stage(ptc_articles.parent, student, config, teacher=teacher)
    assert (final / "DONE").is_file() and not (final / "model.onnx").exists()
    assert not (student / "teacher_probs.partial.npz").exists()
    with np.load(student / "teacher_probs.npz") as z:
        probs = {aid: z[aid] for aid in z.files}
    # max_articles caps the unlabelled articles too; the long one spans several windows
    assert sorted(probs) == ["0", "1"]  # ids as PTC names them
    assert probs["1"].shape[0] > 300 and probs["1"].shape[1] == 15
    assert np.all((probs["1"] >= 0) & (probs["1"] <= 1))
    log = (student / "train.log").read_text() + (student / "joint" / "train.log").read_text()
    assert log.count("self-training: 2 unlabelled articles") == 2  # both stages
    assert json.loads((student / "split.json").read_text())["unlabelled"] == str(unlabelled)


def test_teacher_probabilities_average_the_windows_that_overlap() -> None:
    import torch

    from propscan.detect.windows import WINDOW_STRIDE, load_tokenizer, make_windows, tokenize
    from propscan.train.model import base_model_path, new_tagger
    from propscan.train.teacher import teacher_token_probs

    torch.manual_seed(0)
    model = new_tagger().eval()
    tokenizer = load_tokenizer(base_model_path() / "tokenizer.json")
    text = _INVENTED * 12  # about 350 tokens: two windows
    ids, _ = tokenize(tokenizer, text)
    windows = make_windows(ids, tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]"))
    assert len(windows) == 2
    got = teacher_token_probs(model, tokenizer, {"a": text})["a"]
    with torch.no_grad():
        alone = [torch.sigmoid(model.logits(torch.tensor(w.input_ids[None]),
                                            torch.ones(1, len(w.input_ids), dtype=torch.long))
                               )[0, 1:1 + w.n_content].numpy() for w in windows]
    np.testing.assert_allclose(got[:WINDOW_STRIDE], alone[0][:WINDOW_STRIDE], atol=1e-5)
    overlap = slice(WINDOW_STRIDE, windows[0].n_content)
    np.testing.assert_allclose(got[overlap], (alone[0][overlap] + alone[1][:overlap.stop -
                                                                           WINDOW_STRIDE]) / 2,
                               atol=1e-5)
    np.testing.assert_allclose(got[windows[0].n_content:],
                               alone[1][windows[0].n_content - WINDOW_STRIDE:], atol=1e-5)


def test_a_smaller_student_keeps_the_first_layers_and_reloads_with_its_depth(
        tmp_path: Path, ptc_articles: Path) -> None:
    import torch

    from propscan.errors import ConfigError
    from propscan.train.config import TrainConfig
    from propscan.train.model import checkpoint_layers, load_tagger, new_tagger
    from propscan.train.trainer import train

    full, small = new_tagger(), new_tagger(layers=2)
    assert checkpoint_layers(full.state_dict()) == 6
    assert checkpoint_layers(small.state_dict()) == 2
    # the student's layers are the base encoder's first ones, not fresh weights
    key = "encoder.encoder.layer.1.attention.self.query.weight"
    assert torch.equal(full.state_dict()[key], small.state_dict()[key])
    torch.save(small.state_dict(), tmp_path / "tagger.pt")
    reloaded = load_tagger(tmp_path / "tagger.pt")
    assert checkpoint_layers(reloaded.state_dict()) == 2
    with pytest.raises(ConfigError, match="between 1 and 6"):
        new_tagger(layers=7)
    # a second stage must not silently continue from a checkpoint of another depth
    with pytest.raises(ConfigError, match="has 2 encoder layers, this stage 6"):
        train(ptc_articles.parent, tmp_path / "run",
              TrainConfig(epochs=1, max_articles=1, init=tmp_path / "tagger.pt", export=False))


def _finished_teacher(run_dir: Path, fit: list[str]) -> Path:
    """A teacher directory as a finished two-stage run leaves it (an untrained tagger)."""
    import torch

    from propscan.train.model import new_tagger

    (run_dir / "joint" / "epoch1").mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(new_tagger().state_dict(), run_dir / "joint" / "tagger.pt")
    (run_dir / "joint" / "epoch1" / "DONE").write_text("ok")
    (run_dir / "joint" / "split.json").write_text(json.dumps({"fit": fit}))
    return run_dir


def test_reused_teachers_must_share_the_students_folds(tmp_path: Path,
                                                       ptc_articles: Path) -> None:
    """A teacher that saw a fold's held-out articles would leak them into the figures through
    its labels of the unlabelled articles: refused before any training."""
    from propscan.errors import ConfigError
    from propscan.train.config import TrainConfig
    from propscan.train.data import split_ids
    from propscan.train.recipe import cross_validate

    ids = sorted(p.stem.removeprefix("article") for p in ptc_articles.glob("article*.txt"))
    for k in range(5):  # each teacher fitted on a different seed's fold k: a leak
        _finished_teacher(tmp_path / "teachers" / f"fold{k}", split_ids(ids, seed=99,
                                                                         fold=(k, 5))[0])
    with pytest.raises(ConfigError, match=r"was fitted on \d+ of the 75 articles fold 0 holds "
                                          r"out: teachers and students must share folds"):
        cross_validate(ptc_articles.parent, tmp_path / "run", TrainConfig(unlabelled=tmp_path),
                       teachers=tmp_path / "teachers")
    assert not (tmp_path / "run").exists()


def test_a_student_learns_from_a_reused_teacher_without_retraining_it(
        tmp_path: Path, ptc_articles: Path) -> None:
    from propscan.train.config import TrainConfig
    from propscan.train.data import split_ids
    from propscan.train.recipe import train_teacher_and_student

    unlabelled = tmp_path / "unlabelled"
    unlabelled.mkdir()
    (unlabelled / "article1.txt").write_text(_INVENTED * 3, encoding="utf-8")
    ids = sorted(p.stem.removeprefix("article") for p in ptc_articles.glob("article*.txt"))
    teacher = _finished_teacher(tmp_path / "teacher", split_ids(ids, seed=13, fold=(0, 5))[0])
    before = sorted(p.relative_to(teacher) for p in teacher.rglob("*"))
    config = TrainConfig(epochs=1, joint_epochs=1, max_articles=2, fold=(0, 5),
                         attention_dropout=0.0, export=False, unlabelled=unlabelled)
    final = train_teacher_and_student(ptc_articles.parent, teacher, tmp_path / "student",
                                      config, student_layers=2, train_teacher=False)
    assert (final / "DONE").is_file()
    assert sorted(p.relative_to(teacher) for p in teacher.rglob("*")) == before  # not retrained
    log = (tmp_path / "student" / "train.log").read_text()
    assert "self-training: 1 unlabelled articles" in log
    assert json.loads((tmp_path / "student" / "split.json").read_text())["layers"] == 2


def test_train_config_refuses_bad_parameters_in_scikit_learn_words() -> None:
    from propscan.errors import ConfigError
    from propscan.train.config import TrainConfig

    with pytest.raises(ConfigError) as err:
        TrainConfig(epochs=0)
    assert str(err.value) == ("The 'epochs' parameter of TrainConfig must be at least 1. "
                              "Got 0 instead.")
    for bad, match in (({"lr": 0.0}, "'lr' parameter .* greater than 0. Got 0.0"),
                       ({"attention_dropout": 1.0}, "'attention_dropout' .* in \\[0, 1\\)"),
                       ({"layers": 7}, "'layers' .* None or an int in \\[1, 6\\]. Got 7"),
                       ({"fold": (5, 5)}, "'fold' .* 0 <= k < n and n >= 2. Got \\(5, 5\\)"),
                       ({"fold": (0, 5), "all_data": True}, "'fold' .* None when all_data"),
                       ({"teacher_probs": Path("p.npz")}, "'unlabelled' .* a directory"),
                       ({"batch_size": 2.5}, "'batch_size' .* at least 1. Got 2.5")):
        with pytest.raises(ConfigError, match=match):
            TrainConfig(**bad)
    with pytest.raises(TypeError):  # keyword-only: no positional settings to misorder
        TrainConfig(3)  # type: ignore[misc]
    config = TrainConfig(seed=7)
    assert config.fold_seed == 7 and config.depth == 6
    with pytest.raises(AttributeError):  # frozen: stages derive new configs, never edit one
        config.epochs = 2  # type: ignore[misc]


def test_an_installed_model_directory_gives_back_its_version(tmp_path: Path) -> None:
    """The version install() records is the one installed_model_version() computes from the
    installed files (so a rewritten graph can be re-versioned)."""
    from propscan.detect.span_model import DENSE_NAMES, SpanModel
    from propscan.techniques import TECHNIQUE_NAMES
    from propscan.train.install import install, installed_model_version

    tagger = tmp_path / "tagger"
    tagger.mkdir()
    (tagger / "model.onnx").write_bytes(b"a graph")
    (tagger / "tokenizer.json").write_text("{}")
    width, n_tech = len(DENSE_NAMES) + 1, len(TECHNIQUE_NAMES)
    rng = np.random.default_rng(0)
    # weights not exactly representable in float32, as fitted ones are
    span_model = SpanModel(["w:farce"], np.zeros(width - 1), np.ones(width - 1),
                           rng.normal(size=width), 0.1, rng.normal(size=(n_tech, width)),
                           rng.normal(size=n_tech), np.array([0.0, 1.0]), np.array([0.0, 0.9]))
    settings = {"threshold": 0.25, "switch_penalty": 0.6, "keep_threshold": 0.3}
    install(tagger, tmp_path / "model", settings, span_model, {"si_f1": 0.5})
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert {k: config[k] for k in settings} == settings
    assert config["version"] == installed_model_version(tmp_path / "model")
