#!/usr/bin/env bash
# Interop check, outside CI: Atheme services linked to this daemon over TS6 (Atheme's "charybdis"
# protocol module). Writes both configs in a temporary folder, starts the daemon (built: dist/)
# and Atheme on loopback, then a client on our server checks NickServ REGISTER/IDENTIFY, ChanServ
# REGISTER/OP, SASL PLAIN relayed to Atheme's SaslServ, and a forced nick change (RSFNC).
#
# Needs: atheme-services (Debian/Ubuntu package; 7.2 tested), node, a build (`npm run build`).
# Usage: scripts/interop/atheme.sh [--keep]   (--keep leaves the temporary folder and its logs)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
KEEP=${1:-}
command -v atheme-services >/dev/null || { echo "atheme-services is not installed (apt-get install atheme-services)" >&2; exit 2; }
[ -f "$ROOT/dist/src/main.js" ] || { echo "build first: npm run build" >&2; exit 2; }

DIR=$(mktemp -d /tmp/ircd-atheme.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$KEEP" = "--keep" ]; then echo "logs and configs kept in $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT

# Two free loopback ports: clients, and the server link Atheme connects to.
read -r CLIENT_PORT LINK_PORT < <(node -e '
const net = require("node:net");
const ports = [];
const next = () => { const s = net.createServer(); s.listen(0, "127.0.0.1", () => { ports.push(s.address().port); s.close(() => ports.length < 2 ? next() : console.log(ports.join(" "))); }); };
next();')

LINK_PASSWORD=interop-link-pass
LINK_HASH=$(printf '%s\n' "$LINK_PASSWORD" | node "$ROOT/dist/src/main.js" mkpasswd)

cat > "$DIR/ircd.toml" <<TOML
[server]
name = "irc.interop.test"
network = "InteropNet"
sid = "1IR"
motd = "motd.txt"

[[listen]]
address = "127.0.0.1"
port = $CLIENT_PORT

[[listen]]
address = "127.0.0.1"
port = $LINK_PORT
servers = true

[[link]]
name = "services.interop.test"
address = "127.0.0.1"
send_password = "$LINK_PASSWORD"
accept_password = "$LINK_HASH"

[[class]]
name = "default"

[[allow]]
mask = "*"
class = "default"

[services]
enabled = false
servers = ["services.interop.test"]

[accounts]
enabled = false

[store]
path = "$DIR/ircd.db"

[log]
level = "debug"
TOML
echo "Welcome to the Atheme interop run." > "$DIR/motd.txt"

# Atheme 7.2 names its modules "modules/<kind>/<name>"; 7.3 and later drop the "modules/".
MP="modules/"
case "$(atheme-services -v | head -1)" in *"atheme 7.2"*) ;; *) MP="" ;; esac
cat > "$DIR/atheme.conf" <<CONF
loadmodule "${MP}protocol/charybdis";
loadmodule "${MP}backend/opensex";
loadmodule "${MP}crypto/pbkdf2v2";
loadmodule "${MP}nickserv/main";
loadmodule "${MP}nickserv/register";
loadmodule "${MP}nickserv/identify";
loadmodule "${MP}nickserv/info";
loadmodule "${MP}nickserv/ghost";
loadmodule "${MP}chanserv/main";
loadmodule "${MP}chanserv/register";
loadmodule "${MP}chanserv/op";
loadmodule "${MP}chanserv/set_core";
loadmodule "${MP}chanserv/set_mlock";
loadmodule "${MP}chanserv/set_guard";
loadmodule "${MP}saslserv/main";
loadmodule "${MP}saslserv/plain";

serverinfo {
    name = "services.interop.test";
    desc = "Atheme IRC Services";
    numeric = "0SV";
    netname = "InteropNet";
    adminname = "interop";
    adminemail = "interop@example.org";
    registeremail = "interop@example.org";
    auth = none;
    casemapping = "rfc1459";
    recontime = 2;
};
general { commit_interval = 5; join_chans; leave_chans; };
uplink "irc.interop.test" {
    host = "127.0.0.1";
    port = $LINK_PORT;
    send_password = "$LINK_PASSWORD";
    receive_password = "$LINK_PASSWORD";
};
nickserv { nick = "NickServ"; };
chanserv { nick = "ChanServ"; };
saslserv { nick = "SaslServ"; };
CONF
: > "$DIR/services.db"

node "$ROOT/dist/src/main.js" --config "$DIR/ircd.toml" > "$DIR/ircd.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$CLIENT_PORT) 2>/dev/null && break; sleep 0.1; done
(exec 3<>/dev/tcp/127.0.0.1/$CLIENT_PORT) 2>/dev/null || { echo "the daemon did not start:" >&2; cat "$DIR/ircd.log" >&2; exit 1; }

atheme-services -n -c "$DIR/atheme.conf" -l "$DIR/atheme.log" -p "$DIR/atheme.pid" -D "$DIR" > "$DIR/atheme.out" 2>&1 &
PIDS+=($!)

# The client side: each step waits for the line that proves it.
PORT=$CLIENT_PORT node "$ROOT/scripts/interop/atheme-check.mjs"
