# Helpers for the server tests (sourced after tests/cli/lib.sh): a test certificate made now,
# a server on 127.0.0.1 with a port it picks itself, curl as the client.
: "${TUXTAPE_SERVER:?TUXTAPE_SERVER must name the tuxtape-server binary}"
for tool in openssl curl sqlite3 python3; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed" >&2; exit 77; }
done
SERVER_PIDS=""
trap 'for p in $SERVER_PIDS; do kill "$p" 2>/dev/null || :; done; rm -rf "$TMP"' EXIT

make_certs() { # a CA, a server certificate for 127.0.0.1 and client certificates for NAMES
    d="$TMP/pki"; mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -keyout "$d/ca.key" -out "$d/ca.pem" -subj /CN=tuxtape-test-ca 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/server.key" \
        -out "$d/server.csr" -subj /CN=127.0.0.1 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/san.ext"
    openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
        -days 2 -extfile "$d/san.ext" -out "$d/server.pem" 2>/dev/null
    for n in "$@"; do
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/$n.key" \
            -out "$d/$n.csr" -subj "/CN=$n" 2>/dev/null
        openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
            -days 2 -out "$d/$n.pem" 2>/dev/null
    done
}

start_server() { # start_server LOG ARGS... : sets PORT and PID; waits at most 10 s
    log=$1; shift
    # Emptied here, not only by the child's redirection: a reused log still naming the last
    # server's port must not be read before the new server truncates it.
    : >"$log"
    "$TUXTAPE_SERVER" --listen 127.0.0.1:0 --tls-cert "$TMP/pki/server.pem" \
        --tls-key "$TMP/pki/server.key" "$@" 2>"$log" &
    PID=$!
    SERVER_PIDS="$SERVER_PIDS $PID"
    PORT=""
    for _ in $(seq 100); do
        # The server may not have created its log yet.
        PORT=$(sed -n 's/.*listening on .*(port \([0-9]*\)).*/\1/p' "$log" 2>/dev/null || :)
        [ -n "$PORT" ] && return 0
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "server did not start:"; cat "$log"; exit 1
}

stop_server() { # stop_server PID : SIGTERM, then waits at most 10 s for a clean exit
    kill "$1"
    for _ in $(seq 100); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$1" 2>/dev/null; then fail "server $1 did not stop"; kill -9 "$1"; fi
    wait "$1" 2>/dev/null && pass || fail "server $1 exited non-zero"
}

# api PATH [CURL-ARGS...] : the body in $TMP/body, the status in $STATUS
api() {
    path=$1; shift
    STATUS=$(curl -s --max-time 20 --cacert "$TMP/pki/ca.pem" -o "$TMP/body" -w '%{http_code}' \
        "$@" "https://127.0.0.1:$PORT$path") || STATUS="curl-failed"
}
as() { # as ROLE : the curl header for that role's token
    eval "printf 'Authorization: Bearer %s' \"\$TOKEN_$1\""
}
expect_status() { # expect_status WANT DESCRIPTION
    if [ "$STATUS" = "$1" ]; then pass; else
        fail "$2: status $STATUS, want $1"; head -c 300 "$TMP/body" | sed 's/^/    body: /'; echo
    fi
}
body_has() {
    if grep -qF -- "$1" "$TMP/body"; then pass; else
        fail "body lacks '$1'"; head -c 300 "$TMP/body" | sed 's/^/    body: /'; echo
    fi
}
