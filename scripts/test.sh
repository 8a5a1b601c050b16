#!/usr/bin/env bash
# The whole test suite: builds the evidence factory's artifacts for every Go
# release the tests use (cached under ~/.cache/gosleuth/factory, so a second
# run only rebuilds what changed), then runs every crate's tests.
#
#   GOSLEUTH_GO_VERSIONS=installed,go1.23.12 scripts/test.sh   # fewer releases
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

echo "== cargo test" >&2
GOSLEUTH_GO_VERSIONS="$versions" cargo test --workspace --locked
