#!/usr/bin/env bash
# Runs a gosleuth binary over the evidence factory's artifacts and the
# committed fixtures, one output file per command (stdout, then the exit
# status), so that two builds can be compared byte for byte: a
# restructuring must leave every output as it was.
#
#   scripts/outputs-snapshot.sh BINARY OUTDIR [GO_VERSION]
#   diff -r OUTDIR_BEFORE OUTDIR_AFTER && echo identical
#
# GO_VERSION picks the factory cache (default: the installed Go); the
# evidence must exist (scripts/test.sh or `factory.py prepare` makes it).
# Covered: triage and diagnose (text and JSON) on every text artifact and
# fixture, logs (text and JSON) on the service logs and every text artifact,
# core and diagnose (text, JSON, stacks, group-by) on every core, pprof
# -top/-traces/-tree/-raw on every profile, bin info (text, JSON)/funcs on
# every binary, triage --compare on the goleak dump pairs, deps (text, JSON,
# DOT, SVG) on the committed test module.
set -uo pipefail
bin=$(realpath "$1")
out=$2
version=${3:-$(go env GOVERSION)}
root="$(cd "$(dirname "$0")/.." && pwd)"
factory="${GOSLEUTH_FACTORY_DIR:-$HOME/.cache/gosleuth/factory}/$version"
[ -d "$factory" ] || { echo "outputs-snapshot: no factory evidence at $factory" >&2; exit 2; }
mkdir -p "$out"
export TZ=UTC NO_COLOR=1

# run NAME ARGS...: stdout (first 4 MB) and the exit status into OUTDIR/NAME.
# Durations the commands report about themselves ("read in 62 ms") become
# "<time>": they change from run to run.
run() {
  local name=$1
  shift
  timeout 120 "$bin" "$@" 2> /dev/null | head -c 4000000 |
    sed -E 's/ in [0-9]+(\.[0-9]+)? ?(ns|µs|us|ms|s)\b/ in <time>/g' > "$out/$name"
  echo "exit ${PIPESTATUS[0]}" >> "$out/$name"
}

for f in "$factory"/text/*.txt "$root"/fixtures/text/*/*; do
  [ -f "$f" ] || continue
  n=$(basename "$(dirname "$f")").$(basename "$f")
  run "triage.$n" triage "$f"
  run "triage-json.$n" triage --format json "$f"
  run "diagnose.$n" diagnose "$f"
  run "diagnose-json.$n" diagnose --format json "$f"
  run "logs.$n" logs "$f"
  run "logs-json.$n" logs --format json "$f"
done
for meta in "$factory"/core/*.json; do
  core=${meta%.json}.core
  [ -f "$core" ] || continue
  exe=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["binary"])' "$meta")
  n=$(basename "$core")
  run "core.$n" core "$exe" "$core"
  run "core-json.$n" core --format json "$exe" "$core"
  run "core-stacks.$n" core --stacks "$exe" "$core"
  run "core-userloc.$n" core --group-by userloc "$exe" "$core"
  run "diagnose.$n" diagnose "$exe" "$core"
  run "diagnose-json.$n" diagnose --format json "$exe" "$core"
done
for p in "$factory"/pprof/*.pb.gz; do
  n=$(basename "$p")
  for flag in -top -traces -tree -raw; do
    run "pprof$flag.$n" pprof "$flag" "$p"
  done
done
for exe in "$factory"/bin/*; do
  n=$(basename "$exe")
  run "bin-info.$n" bin info "$exe"
  run "bin-info-json.$n" bin info --format json "$exe"
  run "bin-funcs.$n" bin funcs "$exe" main.
done
for f in "$root"/fixtures/text/*/goleak.t1.txt; do
  n=$(basename "$(dirname "$f")")
  run "triage-compare.$n" triage --compare "$f" "${f%t1.txt}t2.txt"
  run "triage-compare-json.$n" triage --compare --format json "$f" "${f%t1.txt}t2.txt"
done
for fmt in text json dot svg; do
  run "deps-$fmt.depmod" deps -C "$root/crates/deps/tests/testdata/depmod" --format "$fmt" ./...
done
echo "outputs-snapshot: $(find "$out" -type f | wc -l) outputs in $out" >&2
