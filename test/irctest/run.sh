#!/usr/bin/env bash
# Runs the irctest conformance suite (https://github.com/progval/irctest)
# against the built daemon (dist/src/main.js) through test/irctest/ircd_controller.py.
#
#   npm run irctest                        # build, then run the default selection
#   npm run irctest -- -k "Ping or Nick"   # extra arguments go to pytest
#   IRCTEST_MARKERS='not deprecated' npm run irctest   # replace the -m selection
#
# Needs an irctest checkout and a few Python packages: docs/conformance.md.
#
# Environment:
#   IRCTEST_DIR            irctest checkout (required; not part of this project)
#   IRCTEST_PYTHON         the Python with pytest and the rest (default /usr/bin/python3)
#   IRCTEST_MARKERS        pytest -m expression (default below)
#   IRCTEST_OUTCOMES_FILE  where "<outcome>\t<test id>" lines go
#                          (default: test/irctest/outcomes.txt, not committed)
#   IRCTEST_WORKERS        pytest-xdist workers (default 2)
#   IRCTEST_DEBUG_LOGS=1   irctest shows the daemon's output
#   IRCD_LOG_LEVEL=trace   the daemon's log level in those runs (default warn)
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

usage_irctest() {
  cat >&2 <<EOF
run.sh: $1

irctest is not part of this project: check it out anywhere and point IRCTEST_DIR at it.
docs/conformance.md lists everything needed (irctest at commit b00c039, the Python
packages, websockets >= 11 for the WebSocket tests), e.g. on Debian:

  git clone https://github.com/progval/irctest /path/to/irctest
  git -C /path/to/irctest checkout b00c039
  apt-get install -y --no-install-recommends python3-pytest python3-pytest-xdist \\
    python3-pytest-timeout python3-filelock faketime openssl
  IRCTEST_DIR=/path/to/irctest npm run irctest
EOF
  exit 2
}

if [ -z "${IRCTEST_DIR:-}" ]; then
  usage_irctest "IRCTEST_DIR is not set."
fi
if [ ! -f "$IRCTEST_DIR/conftest.py" ] || [ ! -f "$IRCTEST_DIR/irctest/basecontrollers.py" ]; then
  usage_irctest "IRCTEST_DIR=$IRCTEST_DIR is not an irctest checkout (no conftest.py / irctest/basecontrollers.py)."
fi
IRCTEST_DIR="$(cd "$IRCTEST_DIR" && pwd)"

if [ ! -f "$root/dist/src/main.js" ]; then
  echo "run.sh: $root/dist/src/main.js does not exist; build first (npm run build), or use 'npm run irctest'." >&2
  exit 2
fi

python="${IRCTEST_PYTHON:-/usr/bin/python3}"
if ! "$python" -c 'import pytest, xdist, pytest_timeout, filelock' 2>/dev/null; then
  usage_irctest "$python lacks one of pytest, pytest-xdist, pytest-timeout, filelock."
fi
if ! command -v faketime >/dev/null || ! command -v openssl >/dev/null; then
  usage_irctest "faketime and openssl must be on PATH."
fi
if ! "$python" -c 'import sys, websockets; sys.exit(int(websockets.__version__.split(".")[0]) < 11)' 2>/dev/null; then
  echo "run.sh: no Python websockets >= 11 on PYTHONPATH: the 8 WebSocket tests will be skipped (see docs/conformance.md)." >&2
fi

markers="${IRCTEST_MARKERS:-not services and not implementation-specific and not deprecated and not strict}"
outcomes="${IRCTEST_OUTCOMES_FILE:-$here/outcomes.txt}"
case "$outcomes" in /*) ;; *) outcomes="$root/$outcomes" ;; esac
workers="${IRCTEST_WORKERS:-2}"

export PYTHONPATH="$here${PYTHONPATH:+:$PYTHONPATH}"
export IRCTEST_OUTCOMES_FILE="$outcomes"
rm -f "$outcomes"

echo "irctest: $IRCTEST_DIR ($(git -C "$IRCTEST_DIR" rev-parse --short HEAD 2>/dev/null || echo 'unknown commit'))"
echo "daemon:  $root/dist/src/main.js"
echo "markers: $markers"

cd "$IRCTEST_DIR" || exit 2
"$python" -m pytest \
  -p ircd_pytest_plugin -p no:cacheprovider \
  --controller ircd_controller \
  -m "$markers" \
  -n "$workers" --timeout 300 -rfE \
  "$@"
status=$?

if [ -f "$outcomes" ]; then
  passed=$(grep -c '^passed	' "$outcomes")
  failed=$(grep -cE '^(failed|error)	' "$outcomes")
  skipped=$(grep -cE '^(skipped|xfailed)	' "$outcomes")
  xpassed=$(grep -c '^xpassed	' "$outcomes")
  echo "outcomes: $outcomes"
  if [ "$xpassed" -gt 0 ]; then
    echo "($xpassed xpassed, counted as passed)"
  fi
  echo "$((passed + xpassed)) passed, $failed failed, $skipped skipped"
else
  echo "run.sh: no outcomes file was written (pytest exit status $status)." >&2
fi
exit "$status"
