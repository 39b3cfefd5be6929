#!/usr/bin/env bash
# Interop check with Solanum (outside CI): links a Solanum install to two of this project's
# daemons on loopback and checks, with clients on each side, that they see each other's JOIN,
# PRIVMSG, NICK, MODE, TOPIC and QUIT, and a SQUIT and relink. Four layouts:
#
#   hub:   ours-x — solanum — ours-y   (Solanum passes everything between our two daemons)
#   leaf:  solanum — ours-x — ours-y   (our daemon passes everything between Solanum and ours-y)
#   tls:   ours-x — solanum over TLS, each side's certificate fingerprint pinned (openssl makes them)
#   sasl:  ours-x — solanum, ours-x keeping the accounts ([sasl] serve_network) and Solanum using
#          its SaslServ as its SASL agent: a client of Solanum logs in by SASL PLAIN (solanum-sasl.mjs)
#
#   scripts/interop/solanum.sh /path/to/solanum-install [layout...]  # the --prefix Solanum was installed to
#
# With no layout named, all four run.
#
# It builds nothing: run `npm run build` here first, and build Solanum yourself (docs/linking.md,
# "Interop"). Configs, logs and Solanum's files go to a temporary folder, kept on failure
# (its path is printed). Solanum refuses to run as root, and writes its ban database inside its
# install: run this as the install's owner, or as root, which runs Solanum as that owner (give the
# install a user of its own, e.g. `useradd -r solanum && chown -R solanum: /path/to/install`).
set -euo pipefail

SOLANUM=${1:?usage: $0 <solanum install prefix> [hub|leaf|tls|sasl...]}
shift
LAYOUTS=("$@")
[ ${#LAYOUTS[@]} -gt 0 ] || LAYOUTS=(hub leaf tls sasl)
for layout in "${LAYOUTS[@]}"; do
  case $layout in hub | leaf | tls | sasl) ;; *) echo "no layout $layout (hub, leaf, tls, sasl)" >&2; exit 2 ;; esac
done
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
[ -x "$SOLANUM/bin/solanum" ] || { echo "no $SOLANUM/bin/solanum" >&2; exit 2; }
[ -f "$ROOT/dist/src/main.js" ] || { echo "no dist/: run npm run build first" >&2; exit 2; }
WORK=$(mktemp -d /tmp/interop-solanum.XXXXXX)
chmod 777 "$WORK"
PASSWORD=interop-link-pass
OPER_PASSWORD=interop-oper-pass
SASL_PASSWORD=interop-sasl-pass
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

# Six free loopback ports: client and server ports of ours-x and ours-y, Solanum's plain and TLS ports.
read -r X_C X_S Y_C Y_S S_P S_TLS < <(node -e '
  const net = require("node:net"); const got = [];
  (function next() { const s = net.createServer().listen(0, "127.0.0.1", () => { got.push(s.address().port); s.close(() => got.length < 6 ? next() : console.log(got.join(" "))); }); })();')
HASH=$(printf '%s\n' "$PASSWORD" | node "$ROOT/dist/src/main.js" mkpasswd)
OPER_HASH=$(printf '%s\n' "$OPER_PASSWORD" | node "$ROOT/dist/src/main.js" mkpasswd)

# ours <name> <sid> <client port> <server port> <link blocks...>: writes WORK/<name>.toml.
ours() {
  local name=$1 sid=$2 cport=$3 sport=$4
  shift 4
  {
    cat <<TOML
[server]
name = "$name.interop"
network = "Interop"
sid = "$sid"
[[listen]]
address = "127.0.0.1"
port = $cport
[[listen]]
address = "127.0.0.1"
port = $sport
servers = true
[log]
destination = "$WORK/$name.log"
[store]
path = "$WORK/$name.db"
[[class]]
name = "default"
sendq = 4194304
[[allow]]
mask = "*"
class = "default"
[[oper_class]]
name = "net"
privileges = ["routing", "kill"]
[[oper]]
name = "root"
password = "$OPER_HASH"
hosts = ["*@127.0.0.1"]
class = "net"
TOML
    for block in "$@"; do printf '%s\n' "$block"; done
  } >"$WORK/$name.toml"
}

# link <peer name> <port> <autoconnect> <hub> [<fingerprint>]: with a fingerprint, over TLS.
link() {
  cat <<TOML
[[link]]
name = "$1.interop"
address = "127.0.0.1"
port = $2
send_password = "$PASSWORD"
accept_password = "$HASH"
autoconnect = $3
retry = 3
hub = $4
TOML
  [ -z "${5:-}" ] || printf 'tls = true\nfingerprint = "%s"\n' "$5"
}

# solanum <connect blocks...>: writes WORK/solanum.conf.
solanum_conf() {
  {
    cat <<CONF
serverinfo { name = "solanum.interop"; sid = "9SO"; description = "Solanum interop"; network_name = "Interop";
  ssl_cert = "$WORK/solanum.crt"; ssl_private_key = "$WORK/solanum.key"; };
admin { name = "interop"; description = "interop"; email = "nobody@127.0.0.1"; };
class "users" { ping_time = 2 minutes; number_per_ip = 50; max_number = 100; sendq = 400 kbytes; };
class "server" { ping_time = 5 minutes; connectfreq = 5 seconds; max_number = 5; max_autoconn = 1; sendq = 4 megabytes; };
listen { host = "127.0.0.1"; port = $S_P; sslport = $S_TLS; };
auth { user = "*@*"; class = "users"; };
channel { use_invex = yes; use_except = yes; use_forward = yes; default_split_user_count = 0; default_split_server_count = 0; no_create_on_split = no; no_join_on_split = no; };
general { throttle_count = 100; disable_auth = yes; certfp_method = sha256; };
CONF
    for block in "$@"; do printf '%s\n' "$block"; done
  } >"$WORK/solanum.conf"
}

# connect <peer name> <port> <flags> [<fingerprint>]
connect_block() {
  printf 'connect "%s.interop" { host = "127.0.0.1"; port = %s; send_password = "%s"; accept_password = "%s"; class = "server"; flags = %s; %s};\n' \
    "$1" "$2" "$PASSWORD" "$PASSWORD" "$3" "${4:+fingerprint = \"$4\"; }"
}

# cert <name>: a self-signed certificate WORK/<name>.crt and key; prints its SHA-256 fingerprint (hex).
cert() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=$1" \
    -keyout "$WORK/$1.key" -out "$WORK/$1.crt" 2>/dev/null
  chmod 644 "$WORK/$1.key"
  openssl x509 -noout -fingerprint -sha256 -in "$WORK/$1.crt" | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'
}
S_FP=$(cert solanum)
X_FP=$(cert x)

start_ours() {
  node "$ROOT/dist/src/main.js" --config "$WORK/$1.toml" >>"$WORK/$1.out" 2>&1 &
  PIDS+=($!)
}

start_solanum() {
  local as=() owner
  owner=$(stat -c %u "$SOLANUM/etc")
  if [ "$(id -u)" = 0 ]; then
    [ "$owner" != 0 ] || { echo "$SOLANUM is owned by root: give it a user of its own (see the header)" >&2; return 1; }
    as=(setpriv --reuid="$owner" --regid="$(stat -c %g "$SOLANUM/etc")" --clear-groups --)
  fi
  "${as[@]}" "$SOLANUM/bin/solanum" -foreground -configfile "$WORK/solanum.conf" -logfile "$WORK/solanum.log" \
    -pidfile "$WORK/solanum.pid" >>"$WORK/solanum.out" 2>&1 &
  PIDS+=($!)
}

# wait_linked <client port> <server name>...: until LINKS on that server lists them all (30 s).
wait_linked() {
  local port=$1
  shift
  node -e '
    const [port, ...names] = process.argv.slice(1);
    const deadline = Date.now() + 30000;
    (function attempt() {
      const s = require("node:net").connect({ host: "127.0.0.1", port: Number(port) });
      let buf = ""; s.setEncoding("utf8");
      s.on("connect", () => s.write("NICK probe" + process.pid + "\r\nUSER p 0 * :p\r\n"));
      s.on("data", (d) => { buf += d;
        if (/ 001 /.test(buf) && !/LINKS sent/.test(buf)) { buf += "LINKS sent"; s.write("LINKS\r\n"); }
        if (/ 365 /.test(buf)) { s.end("QUIT\r\n");
          if (names.every((n) => buf.includes(" 364 ") && buf.includes(n))) process.exit(0);
          if (Date.now() > deadline) { console.error("not linked: " + names.join(" ")); process.exit(1); }
          setTimeout(attempt, 500); } });
      s.on("error", () => Date.now() > deadline ? process.exit(1) : setTimeout(attempt, 500));
    })();' "$port" "$@"
}

stop_all() {
  cleanup
  PIDS=()
  sleep 1
}

check() {
  echo "== $1"
  shift
  node "$ROOT/scripts/interop/clients.mjs" "$@" root "$OPER_PASSWORD"
}

status=0
run_layout() {
  if ! "$@"; then
    status=1
    echo "FAILED; logs in $WORK"
  fi
  stop_all
}

layout_hub() {
  echo "### Solanum as hub: ours-x — solanum — ours-y"
  solanum_conf "$(connect_block x "$X_S" topicburst)" "$(connect_block y "$Y_S" topicburst)"
  ours x 1XX "$X_C" "$X_S" "$(link solanum "$S_P" true true)"
  ours y 2YY "$Y_C" "$Y_S" "$(link solanum "$S_P" true true)"
  start_solanum
  sleep 1
  start_ours x
  start_ours y
  wait_linked "$X_C" solanum.interop y.interop || return 1
  wait_linked "$S_P" x.interop y.interop || return 1
  check "ours-x with solanum" "$X_C" "$S_P" solanum.interop solanum.interop || return 1
  wait_linked "$X_C" solanum.interop y.interop || return 1
  check "ours-x with ours-y, through solanum" "$X_C" "$Y_C" y.interop solanum.interop
}

layout_leaf() {
  echo "### Solanum as leaf: solanum — ours-x — ours-y"
  # Our hub connects to it (hub = false: Solanum may introduce no server behind it). Not Solanum's
  # autoconn: after a SQUIT it waited longer than the check, and a CONNECT crossing it was refused.
  solanum_conf "$(connect_block x "$X_S" topicburst)"
  ours x 1XX "$X_C" "$X_S" "$(link solanum "$S_P" true false)" "$(link y "$Y_S" false false)"
  ours y 2YY "$Y_C" "$Y_S" "$(link x "$X_S" true true)"
  start_ours x
  start_ours y
  sleep 1
  start_solanum
  wait_linked "$Y_C" x.interop solanum.interop || return 1
  wait_linked "$S_P" x.interop y.interop || return 1
  check "ours-x with solanum" "$X_C" "$S_P" solanum.interop solanum.interop || return 1
  wait_linked "$Y_C" x.interop solanum.interop || return 1
  check "ours-y with solanum, through ours-x" "$Y_C" "$S_P" solanum.interop x.interop
}

layout_tls() {
  echo "### TLS: ours-x — solanum, certificates pinned both ways"
  solanum_conf "$(connect_block x "$X_S" 'topicburst, ssl' "$X_FP")"
  # Our certificate is the one of our TLS servers listener.
  ours x 1XX "$X_C" "$X_S" "$(link solanum "$S_TLS" true true "$S_FP")"
  sed -i "0,/servers = true/s##servers = true\ntls = { cert = \"$WORK/x.crt\", key = \"$WORK/x.key\" }#" "$WORK/x.toml"
  start_solanum
  sleep 1
  start_ours x
  wait_linked "$X_C" solanum.interop || return 1
  check "ours-x with solanum over TLS" "$X_C" "$S_P" solanum.interop solanum.interop
}

layout_sasl() {
  echo "### SASL: solanum — ours-x, ours-x's SaslServ as Solanum's SASL agent"
  # Solanum's sasl_service is SaslServ unless set; its service block makes our server's +S users services.
  solanum_conf "$(connect_block x "$X_S" topicburst)" 'service { name = "x.interop"; };'
  ours x 1XX "$X_C" "$X_S" "$(link solanum "$S_P" true true)" $'[sasl]\nserve_network = true'
  printf '%s\n' "$SASL_PASSWORD" | node "$ROOT/dist/src/main.js" account create saslacct --config "$WORK/x.toml" >/dev/null
  start_solanum
  sleep 1
  start_ours x
  wait_linked "$X_C" solanum.interop || return 1
  echo "== a client of solanum logs in with an account of ours-x"
  node "$ROOT/scripts/interop/solanum-sasl.mjs" "$S_P" "$X_C" saslacct "$SASL_PASSWORD"
}

for layout in "${LAYOUTS[@]}"; do run_layout "layout_$layout"; done
[ $status = 0 ] && { echo "all passed"; rm -rf "$WORK"; }
exit $status
