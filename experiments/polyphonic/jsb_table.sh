#!/usr/bin/env bash
# Every cell configuration of the layers issue on JSB Chorales, one run each (seed 0), then the
# result table. Usage: bash experiments/polyphonic/jsb_table.sh [runs/poly_jsb]
# The sweep uses one setting for all tensorized cells (lr 3e-3, dropout 0.3) and the GRU's
# (lr 1e-3, dropout 0.2), without weight averaging: the table in docs/results/polyphonic.md.
# Set EXTRA to add overrides, e.g. EXTRA=--config.ema_decay=0.99.
set -euo pipefail
OUT=${1:-runs/poly_jsb}
PY=${PY:-.venv/bin/python}
C=experiments/polyphonic/configs
run() { # name config overrides...
  local name=$1 cfg=$2; shift 2
  local fixed=(--config.ema_decay=0.0)
  if [ "$cfg" = gru ]; then fixed+=(--config.learning_rate=0.001 --config.dropout=0.2)
  else fixed+=(--config.learning_rate=0.003 --config.dropout=0.3); fi
  [ -f "$OUT/$name/result.json" ] || $PY -m experiments.polyphonic --config="$C/$cfg.py" \
    --workdir="$OUT/$name" --config.progress=False "${fixed[@]}" "$@" ${EXTRA:-} > "$OUT/$name.log" 2>&1
}
mkdir -p "$OUT"
run gru gru
run cp_110 cp_gru --config.cell.rank=110
run tucker_2334 tucker_gru "--config.cell.rank=(2,3,3,4)"
run tt_9 tt_gru
for r in 10 30 50 80 110; do run cp_$r cp_gru --config.cell.rank=$r; done
for r in 2,2,2,2 2,3,2,3 2,3,2,4 2,4,2,4 2,3,3,4; do run tucker_${r//,/} tucker_gru "--config.cell.rank=($r)"; done
for r in 3 5 7 9 11; do run tt_$r tt_gru "--config.cell.rank=(1,$r,$r,$r,1)"; done
$PY -m experiments.polyphonic.report "$OUT"
