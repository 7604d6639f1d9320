"""Detector speed: articles/s over the PTC training articles, ms per 1,000 words, peak RSS.

Usage: python benchmarks/bench.py [--threads 2] [--limit N] [--large] [--passes 3]
       python benchmarks/bench.py --compare DIR DIR ... [--rounds 3] [--threads 1]
       python benchmarks/bench.py --profile [--limit 30]

The detector runs as the CLI and batch jobs run it (fused int8 graph, windows of 256 tokens with
stride 224, one window per inference call, ``--threads`` worker threads, 16 articles at a time).
``--large`` also times a randomly initialised RoBERTa-large-shaped encoder exported the same way
(fused, int8; needs the train extra: torch, transformers), so the cost of the published
winners' architecture is measured rather than guessed.
``--passes N`` times N passes and prints the median one with the range (``make bench`` uses
3: on a shared machine single passes of one graph have differed by up to 40% within an hour).
``--compare`` times several model directories interleaved round by round on the same texts, so a
busy machine slows all of them alike; it prints each one's median time and its ratio to the first.
``--profile`` runs onnxruntime's profiler over the encoder pass and prints each operator's share
of the kernel time (where a faster graph would have to save), summed over the worker threads.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import resource
import statistics
import tempfile
import time
from pathlib import Path

from propscan.detect import Detector, open_session, session_options

SHARED = Path(__file__).resolve().parents[2] / "shared"


def _texts(limit: int | None) -> list[str]:
    folder = SHARED / "data" / "ptc-train" / "train-articles"
    paths = sorted(folder.glob("*.txt"))[:limit]
    if not paths:
        raise SystemExit(f"error: no PTC articles in {folder} (is ../shared beside the checkout?)")
    return [p.read_text(encoding="utf-8") for p in paths]


def _cpu_line() -> str:
    """The CPU and onnxruntime the figures belong to: they differ 2x between the 2-core
    machines here, most with int8 dot-product instructions (VNNI) or without, and kernels
    change between onnxruntime releases (SkipLayerNormalization, see MODEL_CARD.md)."""
    import platform

    import onnxruntime

    from propscan.detect import available_cores

    model, flags = platform.processor() or platform.machine(), set()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() in ("flags", "Features"):
                flags = set(value.split())
    cores = available_cores()  # what the detector's default --threads uses
    vnni = "yes" if flags & {"avx512_vnni", "avx_vnni", "asimddp"} else "no" if flags else "?"
    return (f"cpu: {model}, {cores} cores available, int8 dot products (VNNI): {vnni}; "
            f"onnxruntime {onnxruntime.__version__}")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _time(detector: Detector, texts: list[str], label: str, passes: int = 1) -> None:
    """Time ``passes`` passes over ``texts``; print the median pass (and the range of all)."""
    detector.load()
    detector.detect_texts(texts[:2])  # warm-up
    words = sum(len(re.findall(r"\w+", t)) for t in texts)
    times = []
    for _ in range(passes):
        t0 = time.perf_counter()
        detector.detect_texts(texts)
        times.append(time.perf_counter() - t0)
    elapsed = statistics.median(times)
    spread = ""
    if passes > 1:
        spread = (f" (median of {passes} passes; {len(texts) / max(times):.2f}-"
                  f"{len(texts) / min(times):.2f} articles/s)")
    print(f"{label}: {len(texts)} articles, {words} words in {elapsed:.1f} s -> "
          f"{len(texts) / elapsed:.2f} articles/s, {1000 * elapsed / words * 1000:.1f} ms "
          f"per 1,000 words{spread}")


def _compare(model_dirs: list[Path], texts: list[str], threads: int, rounds: int) -> None:
    variants = []
    for model_dir in model_dirs:
        detector = Detector(model_dir, threads=threads).load()
        detector.detect_texts(texts[:2])  # warm-up
        variants.append((str(model_dir), detector))
    times: dict[str, list[float]] = {name: [] for name, _ in variants}
    for r in range(rounds):
        # alternate the order each round so no variant always runs first after a pause
        for name, detector in variants if r % 2 == 0 else variants[::-1]:
            t0 = time.perf_counter()
            detector.detect_texts(texts)
            times[name].append(time.perf_counter() - t0)
    base = statistics.median(times[variants[0][0]])
    print(f"{len(texts)} articles, {threads} thread(s), {rounds} interleaved rounds")
    for name, _ in variants:
        med = statistics.median(times[name])
        runs = " ".join(f"{t:.1f}" for t in times[name])
        print(f"  {name}: median {med:.2f} s [{runs}] -> speed x{base / med:.2f} vs first")


def _profile(model_dir: Path | None, texts: list[str], threads: int) -> None:
    detector = Detector(model_dir, threads=threads).load()
    options = session_options()
    options.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        options.profile_file_prefix = str(Path(tmp) / "ort")
        # the same graph as the detector's own session, with the profiler on
        detector.session_ = open_session(detector.model_dir / "model.onnx", options)
        t0 = time.perf_counter()
        detector.encode(texts)
        elapsed = time.perf_counter() - t0
        events = json.loads(Path(detector.session_.end_profiling()).read_text())
    by_op: collections.Counter[str] = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            by_op[event["args"]["op_name"]] += event["dur"]
    total = sum(by_op.values())
    print(f"encoder pass over {len(texts)} articles, {threads} threads: {elapsed:.1f} s, "
          f"{total / 1e6:.1f} s in onnxruntime kernels (summed over the threads)")
    for op, microseconds in by_op.most_common(6):
        print(f"  {op:28s} {microseconds / 1e6:6.2f} s  {100 * microseconds / total:5.1f}%")


def _large_model_dir(tmp: Path) -> Path:
    """A RoBERTa-large-shaped encoder with random weights + our head, as fused int8 ONNX."""
    from transformers import RobertaConfig, RobertaModel

    from propscan.train.model import Tagger, base_model_path
    from propscan.train.onnx_export import export_fp32, optimize_and_quantize

    config = RobertaConfig(vocab_size=30522, hidden_size=1024, num_hidden_layers=24,
                           num_attention_heads=16, intermediate_size=4096,
                           max_position_embeddings=514)
    model = Tagger(RobertaModel(config, add_pooling_layer=False)).eval()
    fp32 = tmp / "fp32.onnx"
    export_fp32(model, fp32)
    optimize_and_quantize(fp32, tmp / "model.onnx", num_heads=16, hidden_size=1024)
    fp32.unlink()
    (tmp / "tokenizer.json").write_bytes((base_model_path() / "tokenizer.json").read_bytes())
    return tmp


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--limit", type=int, default=None, help="first N articles only")
    parser.add_argument("--model-dir", type=Path, default=None, help="default: shipped model")
    parser.add_argument("--large", action="store_true")
    parser.add_argument("--compare", nargs="+", type=Path, metavar="DIR")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--passes", type=int, default=1,
                        help="time N passes over the articles and print the median (a shared "
                             "machine's speed drifts between passes)")
    parser.add_argument("--profile", action="store_true",
                        help="share of onnxruntime kernel time per operator")
    args = parser.parse_args()
    texts = _texts(args.limit)
    print(_cpu_line())
    if args.profile:
        _profile(args.model_dir, texts, args.threads)
        return
    if args.compare:
        _compare(args.compare, texts, args.threads, args.rounds)
        return
    _time(Detector(args.model_dir, threads=args.threads), texts,
          f"MiniLM-L6 int8, {args.threads} threads", args.passes)
    print(f"peak RSS {_peak_rss_mb():.0f} MB")
    if args.large:
        with tempfile.TemporaryDirectory() as tmp:
            large = Detector(_large_model_dir(Path(tmp)), threads=args.threads)
            _time(large, texts[: args.limit or 20],
                  f"RoBERTa-large-shaped (random) int8, {args.threads} threads", args.passes)


if __name__ == "__main__":
    main()
