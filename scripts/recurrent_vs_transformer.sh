#!/usr/bin/env bash
# The fra-eng table of docs/models.md "Recurrent or Transformer": experiment=fra_eng and
# experiment=fra_eng_transformer trained back to back on the same split (each alone on the
# machine), then each scored on the test split with greedy and beam search (size 5).
#   scripts/recurrent_vs_transformer.sh ../shared/data/fra-eng/fra.txt runs/compare [precision]
# precision: float32 (default) or mixed_bfloat16 (faster on CPUs with AMX; docs/benchmarks.md).
set -euo pipefail
DATA=${1:?usage: $0 <fra.txt> <out dir> [precision]}
OUT=${2:?usage: $0 <fra.txt> <out dir> [precision]}
PRECISION=${3:-float32}
mkdir -p "$OUT"
for experiment in fra_eng fra_eng_transformer; do
  run="$OUT/$experiment"
  s2s-train experiment=$experiment data.path="$DATA" trainer.precision=$PRECISION \
    trainer.progress_bar=false hydra.run.dir="$run"
  s2s-evaluate run_dir="$run" decoding=beam output_dir="$OUT/${experiment}_beam"
done
s2s-compare "$OUT/fra_eng" "$OUT/fra_eng_transformer"
for experiment in fra_eng fra_eng_transformer; do
  echo "$experiment beam:"; cat "$OUT/${experiment}_beam/metrics.json"
done
