#!/usr/bin/env bash
# Two builds of gosleuth side by side on the four log shapes of
# benches/logs-vs-drain3.py (run it once per --shape with --mb 100 to make
# the inputs under ~/.cache/gosleuth/bench): N interleaved rounds, the
# median CPU seconds on one thread and the median wall seconds on every
# core. Medians of interleaved runs, because on a shared 2-core VM the same
# binary's time varies by up to 50% from run to run.
#
#   benches/logs-shapes-ab.sh OLD_BINARY NEW_BINARY 5
#   SHAPES="service" benches/logs-shapes-ab.sh OLD NEW 5   # some shapes only
set -euo pipefail
[ $# -eq 3 ] || { echo "usage: $0 BASE_BINARY NEW_BINARY ROUNDS" >&2; exit 2; }
B=~/.cache/gosleuth/bench
T=${TMPDIR:-/tmp}/logs-ab
for s in ${SHAPES:-service random-bytes random-words free-text}; do
  [ -f "$B/$s-100mb.log" ] || { echo "$B/$s-100mb.log is missing: benches/logs-vs-drain3.py --shape $s --mb 100 --drain3-mb 0 makes it" >&2; exit 2; }
  for v in base new; do : > $T-$s-$v-cpu; : > $T-$s-$v-wall; done
  for i in $(seq $3); do
    for v in base new; do
      bin=$1; [ $v = new ] && bin=$2
      /usr/bin/time -f "%U %S" -o $T-time $bin logs --threads 1 $B/$s-100mb.log >/dev/null; awk '{print $1+$2}' $T-time >> $T-$s-$v-cpu
      /usr/bin/time -f "%e" -o $T-time $bin logs $B/$s-100mb.log >/dev/null; cat $T-time >> $T-$s-$v-wall
    done
  done
  for v in base new; do
    c=$(sort -n $T-$s-$v-cpu | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
    w=$(sort -n $T-$s-$v-wall | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
    echo "$s $v: 1 thread ${c} CPU s ($(echo "100/$c" | bc) MB per CPU s); all cores ${w} s wall ($(echo "100/$w" | bc) MB/s)"
  done
done
