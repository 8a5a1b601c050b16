#!/usr/bin/env bash
# Side by side on execution traces of a busy HTTP server (benches/busysrv):
# `gosleuth trace` (the whole report), `gosleuth trace --pprof sync` and
# `go tool trace -pprof=sync`, at about 10 MB, 100 MB and 1 GB (traced for
# 1.5 s, 14 s and 140 s; the traces are kept in ~/.cache/gosleuth/bench).
# go tool trace is run up to 100 MB: it needs 46 to 65 bytes of memory per
# byte of trace. Wall seconds and peak resident memory, median of ROUNDS
# runs (default 3).
#
#   cargo build --release -p gosleuth && benches/trace-scale.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
bin="$PWD/target/release/gosleuth"
dir="${XDG_CACHE_HOME:-$HOME/.cache}/gosleuth/bench"
mkdir -p "$dir"
(cd benches/busysrv && go build -o "$dir/busysrv" .)
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
measure() { # label, command...
  local label="$1"; shift
  local secs=() kbs=()
  for _ in $(seq "$rounds"); do
    /usr/bin/time -f "%e %M" -o /tmp/trace-scale.time "$@" > /dev/null 2>&1 || true
    read -r s k < /tmp/trace-scale.time
    secs+=("$s"); kbs+=("$k")
  done
  printf '%-44s %8s s %8s MB\n' "$label" \
    "$(printf '%s\n' "${secs[@]}" | median)" \
    "$(( $(printf '%s\n' "${kbs[@]}" | median) / 1024 ))"
}
for spec in 10:1500ms 100:14s 1000:140s; do
  size="${spec%%:*}"; dur="${spec#*:}"
  t="$dir/busysrv-$size.trace"
  [ -s "$t" ] || "$dir/busysrv" "$t" "$dur"
  echo "== $(du -m "$t" | cut -f1) MB ($t)"
  measure "gosleuth trace" "$bin" trace "$t"
  measure "gosleuth trace --pprof sync" "$bin" trace --pprof sync -o /tmp/trace-scale.pb.gz "$t"
  if [ "$size" -le 100 ]; then
    measure "go tool trace -pprof=sync" go tool trace -pprof=sync "$t"
  fi
done
