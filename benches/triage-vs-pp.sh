#!/usr/bin/env bash
# Side by side: gosleuth triage against panicparse's pp on the same goroutine
# dump. Builds (or reuses) a SIGQUIT dump of the factory's `parked` program
# with N goroutines (default 1,000,000; about 1 GB of text), then times both
# tools grouping it, and prints the ratio.
#
#   benches/triage-vs-pp.sh [N]
#
# pp is superlinear on big dumps (over 20 minutes for 100 MB here), so it
# runs under a time limit (PP_TIMEOUT seconds, default 600) and is reported
# as unfinished past it.
#
# Needs: go, python3, /usr/bin/time; installs pp with `go install` if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000000}"
work="${GOSLEUTH_BENCH_DIR:-$HOME/.cache/gosleuth/bench}"
mkdir -p "$work"
dump="$work/parked-$n.sigquit.txt"

bin_dir=$(python3 factory/factory.py build --go installed --program parked | tail -1)/bin
if [ ! -s "$dump" ]; then
  echo "making $dump (the runtime prints a million goroutines slowly: minutes)" >&2
  out="$work/parked.out"
  : >"$out"
  GOTRACEBACK=all "$bin_dir/parked" -n "$n" >"$out" 2>"$dump.tmp" &
  pid=$!
  for _ in $(seq 1 600); do grep -q ready "$out" && break; sleep 1; done
  kill -QUIT "$pid"
  wait "$pid" || true
  mv "$dump.tmp" "$dump"
fi
size=$(stat -c %s "$dump")
echo "input: $dump ($((size / 1000000)) MB)" >&2

pp_bin="$(go env GOPATH)/bin/pp"
[ -x "$pp_bin" ] || GOFLAGS= go install github.com/maruel/panicparse/v2/cmd/pp@latest
cargo build --release -q -p gosleuth
gs=target/release/gosleuth

measure() { # name, command...: prints "seconds max_rss_kb", or "nan 0" past the limit
  local name=$1; shift
  if timeout "${PP_TIMEOUT:-600}" /usr/bin/time -f "%e %M" -o "$work/time.$name" "$@" >/dev/null 2>"$work/err.$name"; then
    tail -1 "$work/time.$name"
  else
    echo "nan 0"
  fi
}
read -r gs_s gs_kb < <(PP_TIMEOUT=3600 measure gosleuth "$gs" triage "$dump")
read -r pp_s pp_kb < <(measure pp "$pp_bin" -no-color "$dump")
python3 - "$size" "$gs_s" "$gs_kb" "$pp_s" "$pp_kb" "${PP_TIMEOUT:-600}" <<'PY'
import math, sys
size, gs_s, gs_kb, pp_s, pp_kb, limit = int(sys.argv[1]), *map(float, sys.argv[2:])
mb = size / 1e6
print(f"gosleuth triage: {gs_s:6.2f} s  {mb/max(gs_s,1e-9):7.0f} MB/s  {gs_kb/1024:7.0f} MB RSS")
if math.isnan(pp_s):
    print(f"pp:              did not finish within {limit:.0f} s")
    print(f"ratio: gosleuth is more than {limit/max(gs_s,1e-9):.0f}x faster")
else:
    print(f"pp:              {pp_s:6.2f} s  {mb/max(pp_s,1e-9):7.0f} MB/s  {pp_kb/1024:7.0f} MB RSS")
    print(f"ratio: gosleuth is {pp_s/max(gs_s,1e-9):.1f}x faster, uses {pp_kb/max(gs_kb,1):.1f}x less memory")
PY
