#!/bin/sh
# tuxtape-agent reporting to a real tuxtape-server over HTTPS on 127.0.0.1: heartbeats each
# poll, status events ("error" while the archive is away, "ok" once a poll goes well), the
# server's CA, a pinned key (right and wrong), a wrong CA, an unknown token, a client
# certificate; a server that cannot be reached never fails a check.
. "$(dirname "$0")/../cli/lib.sh"
: "${TUXTAPE_AGENT:?TUXTAPE_AGENT must name the tuxtape-agent binary}"
. "$(dirname "$0")/../server/lib.sh"
[ -r "${KO_OTHER:-}" ] || { echo "SKIP: KO_OTHER (tests/agent/tt_lp_other.ko) not built" >&2; exit 77; }

DB="$TMP/db/s.db"
srv() { "$TUXTAPE_SERVER" --db "$DB" "$@"; }
make_certs node1
expect_exit 0 srv token create --role agent node1
TOKEN_agent=$(cat "$TMP/out")
printf '%s\n' "$TOKEN_agent" > "$TMP/agent.token"
expect_exit 0 srv token create --role viewer viewer-1
TOKEN_viewer=$(cat "$TMP/out")
start_server "$TMP/server.log" --db "$DB"

# A fake node (the kernel 5.10.0-tt-node) and an archive with a patch for another kernel only.
ROOT="$TMP/root"
mkdir -p "$ROOT/proc/sys/kernel/random" "$ROOT/sys/kernel/livepatch" "$ROOT/dev"
echo 5.10.0-tt-node > "$ROOT/proc/sys/kernel/osrelease"
echo node-boot-1 > "$ROOT/proc/sys/kernel/random/boot_id"
echo "777.12 1.00" > "$ROOT/proc/uptime"
: > "$ROOT/dev/kmsg"
"$TUXTAPE" archive init "$TMP/ar" > /dev/null
"$TUXTAPE" archive add "$TMP/ar" "$KO_OTHER" --kernel 5.10.0-tt-other > /dev/null
"$TUXTAPE" archive publish "$TMP/ar" > /dev/null
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
conf() { # conf ARCHIVE-PORT [EXTRA-LINE...]
    p=$1; shift
    {
        echo "archive_url = http://127.0.0.1:$p"
        echo "trusted_root = $TMP/ar/public/metadata/1.root.json"
        echo "state_dir = $TMP/state"
        echo "sysroot = $ROOT"
        echo "server_url = https://127.0.0.1:$PORT/"
        echo "server_token_file = $TMP/agent.token"
        for l in "$@"; do echo "$l"; done
    } > "$TMP/agent.conf"
}
agent() { "$TUXTAPE_AGENT" --config "$TMP/agent.conf" "$@"; }
node() { api /v1/fleet/nodes/node1 -H "$(as viewer)"; }

# 1. the archive is away: the check fails; the heartbeat and an "error" event reach the server
conf "$dead" "server_ca = $TMP/pki/ca.pem"
expect_exit 1 agent check
node
expect_status 200 "the node registered by its heartbeat"
body_has '"kernel": "5.10.0-tt-node"'
body_has '"effective_version": "5.10.0-tt-node"'
body_has '"uptime": 777'
body_has '"state": "error"'
body_has '"event": "error"'
body_has "cannot refresh the archive 'http://127.0.0.1:$dead'"

# 2. the archive is back (nothing for this kernel): a heartbeat, and "ok" clears the error
aport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$TMP/ar/public" "$aport" > "$TMP/http.log" 2>&1 &
SERVER_PIDS="$SERVER_PIDS $!"
sleep 1
conf "$aport" "server_ca = $TMP/pki/ca.pem"
expect_exit 0 agent check
node
body_has '"state": "ok"'
body_has '"heartbeats": 2'
body_has '"event": "ok"'
expect_exit 0 agent check
node
body_has '"heartbeats": 3'
check "a check with nothing new sends no event" \
    [ "$(grep -c '"event"' "$TMP/body")" = 2 ]

# 3. a pinned key instead of the CA: the right key passes, a wrong one fails (the check does not)
pin=$(openssl x509 -in "$TMP/pki/server.pem" -pubkey -noout | openssl pkey -pubin -outform der |
      openssl dgst -sha256 -binary | base64)
conf "$aport" "server_pinned_key = sha256//$pin"
expect_exit 0 agent check
node
body_has '"heartbeats": 4'
conf "$aport" "server_pinned_key = sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
expect_exit 0 agent -v check
err_has "cannot report to 'https://127.0.0.1:$PORT/v1/fleet/heartbeat'"
# 4. the system's CAs do not know the test CA
conf "$aport"
expect_exit 0 agent check
err_has "cannot report"
# 5. an unknown token: 401, said once, the check unharmed
conf "$aport" "server_ca = $TMP/pki/ca.pem"
echo tt_unknownunknownunknownunknownunknownunknown0 > "$TMP/agent.token"
expect_exit 0 agent check
err_has "answered HTTP 401"
printf '%s\n' "$TOKEN_agent" > "$TMP/agent.token"
node
body_has '"heartbeats": 4'

# 6. a server that wants client certificates: with node1's certificate it passes, without, not
stop_server "$PID"
start_server "$TMP/server2.log" --db "$DB" --tls-client-ca "$TMP/pki/ca.pem"
conf "$aport" "server_ca = $TMP/pki/ca.pem"
expect_exit 0 agent check
err_has "answered HTTP 401"
conf "$aport" "server_ca = $TMP/pki/ca.pem" "server_cert = $TMP/pki/node1.pem" "server_key = $TMP/pki/node1.key"
expect_exit 0 agent check
node
body_has '"heartbeats": 5'
# the status document is what the server was told
expect_exit 0 agent status --json
check "status names the release the heartbeat carried" grep -q '"release": "5.10.0-tt-node"' "$TMP/out"
finish
