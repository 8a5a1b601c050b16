#!/usr/bin/env bash
# What sampling costs the sampled: requests per second of an HTTP server
# on loopback (benches/sampledsrv, IDLE parked goroutines besides) under a
# load generator of 16 connections, without a sampler, with
# `gosleuth record` on CPU and with `gosleuth record --wall`, both at
# 100 Hz. Each round runs the three in turn for SECS seconds; the medians
# of ROUNDS rounds (default 5) are printed, with the change against the run
# without a sampler of the same round, the server's CPU time per 1000
# requests (what sampling costs it, whatever the machine's drift), and
# gosleuth's own CPU time.
#
#   cargo build --release -p gosleuth && benches/sampling-overhead.sh [IDLE] [ROUNDS] [SECS]
set -euo pipefail
cd "$(dirname "$0")/.."
idle="${1:-100000}"
rounds="${2:-5}"
secs="${3:-5}"
bin="$PWD/target/release/gosleuth"
dir="${XDG_CACHE_HOME:-$HOME/.cache}/gosleuth/bench"
mkdir -p "$dir"
(cd benches/sampledsrv && go build -o "$dir/sampledsrv" .)
# The server on CPU 0 and the load on CPU 1 (when there are two): the
# scheduler moving them around is most of the noise between runs.
pin() { if command -v taskset > /dev/null && [ "$(nproc)" -ge 2 ]; then taskset -c "$1" "${@:2}"; else "${@:2}"; fi; }
"$dir/sampledsrv" serve "$idle" > "$dir/sampledsrv.out" &
srv=$!
if command -v taskset > /dev/null && [ "$(nproc)" -ge 2 ]; then taskset -a -p -c 0 "$srv" > /dev/null; fi
trap 'kill $srv 2>/dev/null || true' EXIT
until grep -q ready "$dir/sampledsrv.out" 2>/dev/null; do sleep 0.1; done
sleep 1
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
run() { # mode: none | cpu | wall
  local rec=""
  case "$1" in
    cpu) /usr/bin/time -f "%U %S" -o "$dir/overhead.cpu.time" "$bin" record "$srv" -d "$((secs + 1))s" -o "$dir/overhead.pb.gz" 2> "$dir/overhead.cpu.err" & rec=$! ;;
    wall) /usr/bin/time -f "%U %S" -o "$dir/overhead.wall.time" "$bin" record "$srv" --wall -d "$((secs + 1))s" -o "$dir/overhead.pb.gz" 2> "$dir/overhead.wall.err" & rec=$! ;;
  esac
  sleep 0.5
  local before after n
  before=$(cpu_ticks)
  n=$(pin 1 "$dir/sampledsrv" load 16 "${secs}s")
  after=$(cpu_ticks)
  if [ -n "$rec" ]; then wait "$rec"; fi
  # Requests per second, and the server's own CPU (user+system, in clock
  # ticks) per 1000 requests: what the sampling costs it, free of the
  # machine's drift in throughput.
  echo "$n $(awk -v a="$after" -v b="$before" -v n="$n" -v s="$secs" 'BEGIN{printf "%.3f", (a-b)/(n*s/1000)}')"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$srv/stat"; }
declare -A got ratio used cost
for _ in $(seq "$rounds"); do
  declare -A this
  for mode in none cpu wall; do
    read -r rps per <<< "$(run "$mode")"
    this[$mode]="$rps"
    got[$mode]+="$rps "
    cost[$mode]+="$per "
    if [ "$mode" != none ]; then
      # Paired with this round's run without a sampler: the machine's
      # drift between rounds cancels out.
      ratio[$mode]+="$(awk -v a="${this[$mode]}" -v b="${this[none]}" 'BEGIN{printf "%.2f", 100*(a-b)/b}') "
      used[$mode]+="$(awk '{printf "%.3f", ($1+$2)}' "$dir/overhead.$mode.time") "
    fi
  done
done
printf 'idle goroutines %s, %s rounds of %s s\n' "$idle" "$rounds" "$secs"
printf '%-6s %8s req/s   (all: %s)\n' none "$(printf '%s\n' ${got[none]} | median)" "${got[none]}"
for mode in none cpu wall; do
  printf '%-6s server CPU per 1000 requests: median %s ticks (all: %s)\n' "$mode" \
    "$(printf '%s\n' ${cost[$mode]} | median)" "${cost[$mode]}"
done
for mode in cpu wall; do
  printf '%-6s %8s req/s   change paired by round: median %+.2f%% (all: %s)   gosleuth CPU: median %s s for %s s (all: %s)\n' \
    "$mode" "$(printf '%s\n' ${got[$mode]} | median)" "$(printf '%s\n' ${ratio[$mode]} | median)" \
    "${ratio[$mode]}" "$(printf '%s\n' ${used[$mode]} | median)" "$((secs + 1))" "${used[$mode]}"
done
head -1 "$dir/overhead.wall.err" >&2 || true
