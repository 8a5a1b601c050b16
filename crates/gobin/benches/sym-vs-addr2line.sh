#!/usr/bin/env bash
# Side by side: `gosleuth bin sym` vs `go tool addr2line` on the same
# addresses (entry, a random offset and the last byte of every 10th
# function), checking the outputs are byte-identical and printing the ratio.
#
# usage: crates/gobin/benches/sym-vs-addr2line.sh BIN [GOSLEUTH]
set -euo pipefail
bin=${1:?usage: $0 BIN [GOSLEUTH]}
gosleuth=${2:-target/release/gosleuth}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$gosleuth" bin funcs "$bin" | python3 -c '
import random, sys
random.seed(1)
for i, l in enumerate(sys.stdin):
    if i % 10: continue
    a, s, _ = l.split(" ", 2); a = int(a, 16); s = max(int(s), 1)
    for x in (a, a + random.randrange(s), a + s - 1): print(hex(x))
' > "$tmp/addrs"
n=$(wc -l < "$tmp/addrs")
t0=$(date +%s.%N); "$gosleuth" bin sym "$bin" < "$tmp/addrs" > "$tmp/ours"; t1=$(date +%s.%N)
go tool addr2line "$bin" < "$tmp/addrs" > "$tmp/theirs"; t2=$(date +%s.%N)
cmp "$tmp/ours" "$tmp/theirs" && echo "identical output for $n addresses"
python3 -c "o=$t1-$t0; t=$t2-$t1; print(f'gosleuth bin sym {o:.3f}s  go tool addr2line {t:.3f}s  ratio {t/o:.1f}x')"
