#!/usr/bin/env bash
# The whole test suite: builds the evidence factory's artifacts for every Go
# release the tests use (cached under ~/.cache/gosleuth/factory, so a second
# run only rebuilds what changed), then runs every crate's tests.
#
#   GOSLEUTH_GO_VERSIONS=installed,go1.23.12 scripts/test.sh   # fewer releases
#
# The text parsers are also tested on older releases (go1.17-go1.20, the
# factory's `--go old`; this script makes only their text cases); choose
# them with GOSLEUTH_TEXT_GO_VERSIONS (default: old + GOSLEUTH_GO_VERSIONS):
#
#   GOSLEUTH_GO_VERSIONS=installed GOSLEUTH_TEXT_GO_VERSIONS=installed scripts/test.sh   # quick
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in go python3 cargo; do
  command -v "$tool" >/dev/null || { echo "scripts/test.sh: $tool is not installed" >&2; exit 2; }
done

versions="${GOSLEUTH_GO_VERSIONS:-installed,go1.21.13,go1.22.12,go1.23.12,go1.24.13,go1.25.7}"
go_args=()
IFS=',' read -ra vs <<<"$versions"
for v in "${vs[@]}"; do go_args+=(--go "$v"); done

echo "== evidence factory: ${versions}" >&2
python3 factory/factory.py build "${go_args[@]}" >/dev/null
python3 factory/factory.py evidence "${go_args[@]}" >/dev/null

# Text evidence for the releases the text parsers are tested on: the old
# ones by default (the others were made just above).
text_versions="${GOSLEUTH_TEXT_GO_VERSIONS:-old}"
text_args=()
IFS=',' read -ra tvs <<<"$text_versions"
for v in "${tvs[@]}"; do text_args+=(--go "$v"); done
for c in crash racepanic rpcrace mapwrites variants goleak metricsdeadlock; do text_args+=(--case "$c"); done
echo "== evidence factory (text cases): ${text_versions}" >&2
python3 factory/factory.py evidence "${text_args[@]}" >/dev/null

echo "== cargo test" >&2
GOSLEUTH_GO_VERSIONS="$versions" cargo test --workspace --locked
