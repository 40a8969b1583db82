#!/usr/bin/env bash
# Run polyphonic jobs from a list, N at a time. Each line of the list:
#   <run name> <config name> [--config.field=value ...]
# Usage: bash experiments/polyphonic/parallel.sh <list> <out dir> [N=2]
set -euo pipefail
LIST=$1 OUT=$2 N=${3:-2}
PY=${PY:-.venv/bin/python}
mkdir -p "$OUT"
grep -v '^\s*\(#\|$\)' "$LIST" | while read -r name cfg rest; do
  echo "$name $cfg $rest"
done | xargs -P "$N" -L 1 bash -c '
  name=$0 cfg=$1; shift 1
  [ -f "'"$OUT"'/$name/result.json" ] && exit 0
  '"$PY"' -m experiments.polyphonic --config=experiments/polyphonic/configs/$cfg.py \
    --workdir="'"$OUT"'/$name" --config.progress=False "$@" > "'"$OUT"'/$name.log" 2>&1 \
    || echo "FAILED: $name"
'
$PY -m experiments.polyphonic.report "$OUT"
