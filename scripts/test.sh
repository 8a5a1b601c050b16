#!/usr/bin/env bash
# The whole test suite: the offline tier (what plain `cargo test` runs: the
# committed fixtures, snapshots and go tool pprof outputs) and the factory
# tier (the `factory` feature: tests on the evidence factory's programs,
# live processes and the oracles go tool, dlv and gdb), in one cargo run
# with `--features factory` (docs/testing.md). What runs by default (the
# project's rule: the newest and the oldest Go release on every run, the
# rest where a layout differs):
#
#   - every test on the installed Go (the newest) and go1.21.13 (the oldest
#     release of the factory's matrix): GOSLEUTH_GO_VERSIONS;
#   - the tests of the runtime's per-release layout (the built-in layout
#     table against DWARF; goroutines, wait reasons and labels read from
#     live processes) on every release of the matrix, go1.21-go1.25 and the
#     installed one: each has its own layout (GOSLEUTH_LAYOUT_GO_VERSIONS);
#   - the text parsers also on go1.17-go1.20 (GOSLEUTH_TEXT_GO_VERSIONS).
#
#   scripts/test.sh                              # the default, as above
#   GOSLEUTH_GO_VERSIONS=all scripts/test.sh     # every test on every release
#   GOSLEUTH_GO_VERSIONS=installed GOSLEUTH_LAYOUT_GO_VERSIONS=installed \
#     GOSLEUTH_TEXT_GO_VERSIONS=installed scripts/test.sh   # quickest
#
# The evidence factory's artifacts the tests read (cached under
# ${GOSLEUTH_FACTORY_DIR:-~/.cache/gosleuth/factory}, so a second run only
# remakes what changed) are made by `factory.py prepare`, two releases at a
# time, while cargo builds the tests; a test makes anything still missing.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in go python3 cargo; do
  command -v "$tool" >/dev/null || { echo "scripts/test.sh: $tool is not installed" >&2; exit 2; }
done

# PNG pictures draw their labels with a system font.
font=$(find /usr/share/fonts /usr/local/share/fonts ~/.local/share/fonts -name '*.tt[fc]' 2>/dev/null | head -n 1 || true)
if [ -z "$font" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing fonts-dejavu-core (PNG labels need a font)" >&2
    apt-get update -qq && apt-get install -y -qq --reinstall fonts-dejavu-core
  else
    echo "scripts/test.sh: no TrueType font installed (PNG labels need one): apt-get install fonts-dejavu-core" >&2
    exit 2
  fi
fi

# gosleuth report's HTML is opened in a headless Chromium.
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing chromium (the HTML report is checked in a headless browser)" >&2
    apt-get update -qq && apt-get install -y -qq chromium
  else
    echo "scripts/test.sh: chromium is not installed (the HTML report test opens it): apt-get install chromium" >&2
    exit 2
  fi
fi

# Python packages the oracles need (xmlschema and junitparser check JUnit
# output, perfetto reads the Perfetto export back), in a venv beside the
# factory's cache.
pyenv="${GOSLEUTH_PYENV:-${XDG_CACHE_HOME:-$HOME/.cache}/gosleuth/pyenv}"
if ! "$pyenv/bin/python3" -c 'import xmlschema, junitparser, perfetto, google.protobuf' 2>/dev/null; then
  echo "== python venv with xmlschema: $pyenv" >&2
  if ! python3 -m venv "$pyenv" 2>/dev/null; then
    # Debian's python3 makes venvs with the python3-venv package.
    [ "$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq python3-venv
    python3 -m venv "$pyenv"
  fi
  "$pyenv/bin/pip" install -q xmlschema junitparser perfetto protobuf
fi
export GOSLEUTH_PYTHON="$pyenv/bin/python3"

start=$(date +%s)
prepare=(python3 factory/factory.py prepare --jobs "${GOSLEUTH_FACTORY_JOBS:-2}")
[ -n "${GOSLEUTH_GO_VERSIONS:-}" ] && prepare+=(--tests "$GOSLEUTH_GO_VERSIONS")
[ -n "${GOSLEUTH_LAYOUT_GO_VERSIONS:-}" ] && prepare+=(--layout "$GOSLEUTH_LAYOUT_GO_VERSIONS")
[ -n "${GOSLEUTH_TEXT_GO_VERSIONS:-}" ] && prepare+=(--text "$GOSLEUTH_TEXT_GO_VERSIONS")

echo "== evidence factory (in the background): ${prepare[*]:2}" >&2
"${prepare[@]}" >/dev/null &
factory_pid=$!

echo "== cargo build (tests)" >&2
if ! cargo test --workspace --locked --features factory --no-run; then
  echo "scripts/test.sh: cargo build failed; waiting for the evidence factory to finish" >&2
  wait "$factory_pid" || true
  exit 1
fi
built=$(date +%s)

factory_status=0
wait "$factory_pid" || factory_status=$?
prepared=$(date +%s)
if [ "$factory_status" -ne 0 ]; then
  echo "scripts/test.sh: the evidence factory failed (see above); the tests retry what is missing" >&2
fi

echo "== cargo test" >&2
status=0
cargo test --workspace --locked --features factory --no-fail-fast || status=$?
end=$(date +%s)
echo "== scripts/test.sh: cargo build $((built - start))s; factory done $((prepared - start))s" \
  "after the start; cargo test $((end - prepared))s; total $((end - start))s" >&2
if [ "$status" -eq 0 ] && [ "$factory_status" -ne 0 ]; then
  echo "scripts/test.sh: the tests passed but the evidence factory failed (see above)" >&2
  status=1
fi
exit "$status"
