#!/usr/bin/env bash
# Side by side: `gosleuth pprof -top` vs `go tool pprof -top` on the same
# large synthetic CPU profile (400,000 samples, 60,000 locations, ~30 MB
# gzipped). Checks that the two outputs are byte-identical, then runs the
# two tools in interleaved pairs after one warm-up run of each (not
# counted), the order within a pair alternating, and prints the median of
# each figure over the pairs: wall time, CPU (user+sys of the whole process
# tree: every thread, and `go tool`'s child pprof process) and peak RSS,
# all from /usr/bin/time, and the ratios of the medians. Also the median
# time to only inflate the profile (`examples/gunzip.rs`, the same
# zlib-rs decompressor): the floor under reading it.
#
#   crates/pprof/benches/side_by_side.sh [-n PAIRS] [PROFILE]
#
# PAIRS defaults to 5. Without PROFILE the synthetic one is generated
# (cached in target/). The load average before and after is printed: on a
# shared machine, measure when it is low, and say what it was.
set -euo pipefail
cd "$(dirname "$0")/../../.."
export TZ=UTC
pairs=5
if [ "${1:-}" = "-n" ]; then
  pairs=$2
  shift 2
fi
cargo build --release -q -p gosleuth-pprof --example synth --example pprof --example gunzip
prof="${1:-target/bench-big.pb.gz}"
if [ ! -f "$prof" ]; then
  target/release/examples/synth "$prof" 400000 60000
fi
out=target/side-by-side
mkdir -p "$out"
# The `pprof` example is `gosleuth pprof` without the rest of the CLI (same
# library call, driver::run), so the figures do not depend on other crates.
run() { # name: one run, appends "wall cpu rss_kb" to $out/name.runs
  local name=$1 t
  t=$out/$name.time
  case $name in
    go) /usr/bin/time -f '%e %U %S %M' -o "$t" go tool pprof -top "$prof" > "$out/go.txt" 2> /dev/null ;;
    gosleuth) /usr/bin/time -f '%e %U %S %M' -o "$t" target/release/examples/pprof -top "$prof" > "$out/gosleuth.txt" 2> /dev/null ;;
    gunzip) /usr/bin/time -f '%e %U %S %M' -o "$t" target/release/examples/gunzip "$prof" > /dev/null ;;
  esac
  awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$t" >> "$out/$name.runs"
}
median() { # file column -> median of that column
  sort -g -k"$2,$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
rm -f "$out"/*.runs
run go
run gosleuth
run gunzip
if cmp -s "$out/go.txt" "$out/gosleuth.txt"; then
  echo "outputs: byte-identical"
else
  echo "outputs: DIFFER"
  diff "$out/go.txt" "$out/gosleuth.txt" | head
  exit 1
fi
rm -f "$out"/*.runs
for i in $(seq "$pairs"); do
  if [ $((i % 2)) = 1 ]; then run go; run gosleuth; else run gosleuth; run go; fi
  run gunzip
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
echo "profile: $prof ($(stat -c %s "$prof") bytes); $pairs interleaved pairs after a warm-up; load average before: $load_before, after: $load_after"
printf '%-10s %10s %10s %14s\n' tool wall_s cpu_s peak_rss_kb
for name in go gosleuth gunzip; do
  printf '%-10s %10s %10s %14s\n' "$name" "$(median "$out/$name.runs" 1)" "$(median "$out/$name.runs" 2)" "$(median "$out/$name.runs" 3)"
done
for name in go gosleuth; do
  echo "$name runs (wall cpu rss_kb): $(tr '\n' ';' < "$out/$name.runs")"
done
gw=$(median "$out/go.runs" 1); gc=$(median "$out/go.runs" 2); gr=$(median "$out/go.runs" 3)
ow=$(median "$out/gosleuth.runs" 1); oc=$(median "$out/gosleuth.runs" 2); or=$(median "$out/gosleuth.runs" 3)
echo "ratio of medians (go/gosleuth): wall $(echo "scale=1; $gw / $ow" | bc)x, cpu $(echo "scale=1; $gc / $oc" | bc)x, memory $(echo "scale=1; $gr / $or" | bc)x"
