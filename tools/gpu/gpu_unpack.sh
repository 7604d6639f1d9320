#!/usr/bin/env bash
# Rebuild what tools/gpu/gpu_session.sh packed into a call's $OUT, one folder per experiment:
#   bash tools/gpu/gpu_unpack.sh FILES_AT runs/gpu
# gives runs/gpu/EXP/self-trained/{fold*/split.json, oof_scores.npz, oof_states.npz} (the last
# where it came back) and the training logs; then
#   python -m propscan.train.crossfit runs/gpu/EXP/self-trained --data ../shared/data/ptc-train
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: bash tools/gpu/gpu_unpack.sh FILES_AT DEST"; exit 2; }
files=$1 dest=$2
found=0
for meta in "$files"/*.meta.tar.gz; do
  [ -f "$meta" ] || continue
  experiment=$(basename "$meta" .meta.tar.gz)
  mkdir -p "$dest/$experiment/self-trained"
  tar xzf "$meta" -C "$dest/$experiment"
  for cache in oof_scores oof_states; do
    target="$dest/$experiment/self-trained/$cache.npz"
    if [ -f "$files/$experiment.$cache.npz" ]; then
      cp "$files/$experiment.$cache.npz" "$target"
    elif compgen -G "$files/$experiment.$cache.npz.part*" >/dev/null; then
      cat "$files/$experiment.$cache.npz.part"* > "$target"   # the parts sort in order
    fi
  done
  echo "$dest/$experiment/self-trained: $(ls "$dest/$experiment/self-trained" | tr '\n' ' ')"
  found=1
done
[ "$found" = 1 ] || { echo "error: no EXPERIMENT.meta.tar.gz in $files"; exit 1; }
