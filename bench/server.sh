#!/bin/sh
# bench/server.sh [SECONDS]: tuxtape-server on 127.0.0.1 over TLS with keep-alive, loaded by
# wrk (Debian package wrk) on the same machine, against the shared CVE data at 4b7dbd40:
#   - GET /v1/cves?limit=50 (and ?limit=100), GET /v1/cves/ID,
#   - POST /v1/fleet/heartbeat from 1,000 agent tokens (one write transaction each);
# requests/s and p50/p99 latency from wrk --latency, and the server's peak RSS.
# TUXTAPE and TUXTAPE_SERVER name the binaries (default build/src/...); CONNS (32), THREADS
# (server worker threads, 4) and WRK_THREADS (2) set the load; SERVER_ARGS are added to the
# server's (SERVER_ARGS="--cache-entries 0": without the GET /v1/cves response cache).
set -eu
SECS=${1:-10}
TUXTAPE=${TUXTAPE:-build/src/cli/tuxtape}
TUXTAPE_SERVER=${TUXTAPE_SERVER:-build/src/server/tuxtape-server}
CONNS=${CONNS:-32}
THREADS=${THREADS:-4}
WRK_THREADS=${WRK_THREADS:-2}
BUNDLE=${TUXTAPE_SHARED:-$(dirname "$0")/../../shared}/data/vulns-cve-data.bundle
NEW=4b7dbd40c5788b772ec943293f950998fef0e97b
command -v wrk >/dev/null || { echo "bench/server.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
[ -f "$BUNDLE" ] || { echo "bench/server.sh needs $BUNDLE" >&2; exit 1; }
TMP=$(mktemp -d /tmp/tuxtape-bench.XXXXXX)
PID=""
trap '[ -z "$PID" ] || kill "$PID" 2>/dev/null || :; rm -rf "$TMP"' EXIT

git clone -q "$BUNDLE" "$TMP/vulns"
"$TUXTAPE" -q --db "$TMP/db/t.db" cve sync --repo "$TMP/vulns" --rev $NEW
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -subj /CN=127.0.0.1 2>/dev/null
S() { "$TUXTAPE_SERVER" --db "$TMP/db/t.db" "$@"; }
VIEWER=$(S token create --role viewer bench 2>/dev/null)
# 1,000 agents: each heartbeat names its node by its token.
i=0
printf 'tokens = {' >"$TMP/hb.lua"
while [ $i -lt 1000 ]; do
    printf '"%s",' "$(S token create --role agent "node$i" 2>/dev/null)" >>"$TMP/hb.lua"
    i=$((i + 1))
done
cat >>"$TMP/hb.lua" <<'LUA'
}
local n = 0
request = function()
  n = n + 1
  return wrk.format("POST", "/v1/fleet/heartbeat",
    { ["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1],
      ["Content-Type"] = "application/json" },
    '{"kernel":"6.1.0-26-amd64","effective_version":"6.1.112","patches":["lp-1","lp-2"],"uptime":' .. n .. '}')
end
LUA

"$TUXTAPE_SERVER" --db "$TMP/db/t.db" --listen 127.0.0.1:0 --tls-cert "$TMP/cert.pem" --tls-key "$TMP/key.pem" \
    --threads "$THREADS" --max-connections 1024 ${SERVER_ARGS:-} 2>"$TMP/log" &
PID=$!
for _ in $(seq 100); do
    PORT=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$TMP/log" 2>/dev/null || :)
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || { echo "tuxtape-server did not start:" >&2; cat "$TMP/log" >&2; exit 1; }
URL="https://127.0.0.1:$PORT"
ID=$(sqlite3 "$TMP/db/t.db" "SELECT id FROM cve WHERE state = 'published' ORDER BY id DESC LIMIT 1")

run() { # run LABEL WRK-ARGS...
    label=$1; shift
    wrk -t"$WRK_THREADS" -c"$CONNS" -d"${SECS}s" --latency "$@" >"$TMP/wrk" 2>&1
    rps=$(sed -n 's/^Requests\/sec: *//p' "$TMP/wrk")
    p50=$(awk '$1 == "50%" { print $2 }' "$TMP/wrk")
    p99=$(awk '$1 == "99%" { print $2 }' "$TMP/wrk")
    errs=$(grep -E 'Non-2xx|Socket errors' "$TMP/wrk" | tr -s ' ' | tr '\n' ' ' || :)
    printf '%-36s %10s req/s  p50 %-9s p99 %-9s %s\n' "$label" "$rps" "$p50" "$p99" "$errs"
}
echo "tuxtape-server ${SERVER_ARGS:-}: $THREADS worker threads; wrk: $WRK_THREADS threads, $CONNS connections, ${SECS}s each, TLS, keep-alive"
run "GET /v1/cves?limit=50" -H "Authorization: Bearer $VIEWER" "$URL/v1/cves?limit=50"
run "GET /v1/cves?limit=100" -H "Authorization: Bearer $VIEWER" "$URL/v1/cves?limit=100"
run "GET /v1/cves/$ID" -H "Authorization: Bearer $VIEWER" "$URL/v1/cves/$ID"
run "POST /v1/fleet/heartbeat (1,000 nodes)" -s "$TMP/hb.lua" "$URL"
CONNS=4
run "GET /v1/cves?limit=50, 4 connections" -H "Authorization: Bearer $VIEWER" "$URL/v1/cves?limit=50"
run "GET /v1/cves/$ID, 4 connections" -H "Authorization: Bearer $VIEWER" "$URL/v1/cves/$ID"
echo "server peak RSS: $(awk '/VmHWM/ { print $2, $3 }' /proc/$PID/status)"
echo "nodes recorded: $(sqlite3 "$TMP/db/server.db" 'SELECT count(*), sum(heartbeats) FROM node')"
