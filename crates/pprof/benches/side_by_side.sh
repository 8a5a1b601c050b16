#!/usr/bin/env bash
# Side by side: `gosleuth pprof -top` vs `go tool pprof -top` on the same
# large synthetic CPU profile (400,000 samples, 60,000 locations, ~30 MB
# gzipped), checking that the outputs are byte-identical and printing
# wall time, user+sys CPU and peak RSS (from /usr/bin/time -v) and ratios.
#
#   crates/pprof/benches/side_by_side.sh [PROFILE]
#
# Without PROFILE the synthetic one is generated (cached in target/).
set -euo pipefail
cd "$(dirname "$0")/../../.."
export TZ=UTC
cargo build --release -q -p gosleuth-pprof --example synth --example pprof
prof="${1:-target/bench-big.pb.gz}"
if [ ! -f "$prof" ]; then
  target/release/examples/synth "$prof" 400000 60000
fi
# The `pprof` example is `gosleuth pprof` without the rest of the CLI (same
# library call, driver::run), so the figures do not depend on other crates.
ours=(target/release/examples/pprof)
measure() { # name cmd...
  local name=$1; shift
  /usr/bin/time -v "$@" -top "$prof" > "target/side-$name.txt" 2> "target/side-$name.time"
  local wall user sys rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "target/side-$name.time")
  user=$(awk -F': ' '/User time/ {print $2}' "target/side-$name.time")
  sys=$(awk -F': ' '/System time/ {print $2}' "target/side-$name.time")
  rss=$(awk -F': ' '/Maximum resident/ {print $2}' "target/side-$name.time")
  # m:ss.ss -> seconds
  wall=$(echo "$wall" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  echo "$name $wall $(echo "$user + $sys" | bc) $rss"
}
echo "profile: $prof ($(stat -c %s "$prof") bytes), load: $(cut -d' ' -f1-3 /proc/loadavg)"
g=$(measure go go tool pprof)
o=$(measure gosleuth "${ours[@]}")
if cmp -s target/side-go.txt target/side-gosleuth.txt; then echo "outputs: byte-identical"; else echo "outputs: DIFFER"; diff target/side-go.txt target/side-gosleuth.txt | head; fi
printf '%-10s %10s %10s %12s\n' tool wall_s cpu_s peak_rss_kb
printf '%-10s %10s %10s %12s\n' $g
printf '%-10s %10s %10s %12s\n' $o
read -r _ gw gc gr <<<"$g"
read -r _ ow oc or <<<"$o"
echo "ratio (go/gosleuth): wall $(echo "scale=1; $gw / $ow" | bc)x, cpu $(echo "scale=1; $gc / $oc" | bc)x, memory $(echo "scale=1; $gr / $or" | bc)x"
