#!/usr/bin/env bash
# Side by side: gosleuth against dlv on cores of the factory's `parked`
# program with N goroutines (default: 10000 100000 1000000), grouping them
# by user location (`dlv core BIN CORE` + `goroutines -group userloc`),
# plus `gosleuth diagnose` on the same core and the stop time of
# `gosleuth attach` on the live process.
#
#   benches/core-vs-dlv.sh [N...]
#
# Cores are written with `gosleuth dump` (dlv opens them) into
# $GOSLEUTH_BENCH_DIR (default ~/.cache/gosleuth/bench) and kept; a core of
# a million goroutines is about 4.5 GB (sparse). dlv runs under a time
# limit (DLV_TIMEOUT seconds, default 900).
#
# Needs: go, python3, /usr/bin/time; installs dlv with `go install` if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 100000 1000000)
work="${GOSLEUTH_BENCH_DIR:-$HOME/.cache/gosleuth/bench}"
mkdir -p "$work"
bin_dir=$(python3 factory/factory.py build --go installed --program parked | tail -1)/bin
bin="$bin_dir/parked"
dlv_bin="$(go env GOPATH)/bin/dlv"
[ -x "$dlv_bin" ] || GOFLAGS= go install github.com/go-delve/delve/cmd/dlv@latest
cargo build --release -q -p gosleuth
gs=target/release/gosleuth
script="$work/dlv-goroutines.txt"
printf 'goroutines -group userloc\nexit\n' >"$script"

# "seconds maxrss_kb" of a command.
measure() {
  /usr/bin/time -f "%e %M" -o "$work/time.txt" "$@" <"/dev/null" >"$work/out.txt" 2>"$work/err.txt" || true
  cat "$work/time.txt" | tail -1
}

printf '| goroutines | gosleuth core (s, MB) | gosleuth diagnose (s, MB) | dlv goroutines -group userloc (s, MB) | speed-up | attach stop |\n'
printf '|---:|---:|---:|---:|---:|---:|\n'
for n in "${sizes[@]}"; do
  core="$work/parked-$n.core"
  out="$work/parked-$n.out"
  : >"$out"
  "$bin" -n "$n" >"$out" 2>/dev/null &
  pid=$!
  for _ in $(seq 1 900); do grep -q ready "$out" && break; sleep 1; done
  sleep 1
  stop=$("$gs" attach "$pid" --group-by userloc | head -1 | sed -n 's/.*(stopped for \(.*\))/\1/p')
  # A core made from an older build of the binary would not match it.
  if [ ! -s "$core" ] || [ "$bin" -nt "$core" ]; then "$gs" dump "$pid" -o "$core" -q; fi
  kill "$pid"; wait "$pid" 2>/dev/null || true
  # Warm the page cache once, then measure.
  "$gs" core "$bin" "$core" --group-by userloc >/dev/null
  read -r gt gm < <(measure "$gs" core "$bin" "$core" --group-by userloc)
  read -r dt dm < <(measure "$gs" diagnose "$bin" "$core")
  read -r vt vm < <(measure timeout "${DLV_TIMEOUT:-900}" "$dlv_bin" core "$bin" "$core" \
    --init "$script" --allow-non-terminal-interactive=true)
  groups=$(grep -c 'Total: ' "$work/out.txt" || true)
  ratio=$(python3 -c "print(f'{$vt/$gt:.0f}x')")
  printf '| %s | %s s, %s MB | %s s, %s MB | %s s, %s MB (%s groups) | %s | %s |\n' \
    "$n" "$gt" "$((gm / 1024))" "$dt" "$((dm / 1024))" "$vt" "$((vm / 1024))" "$groups" "$ratio" "$stop"
done
