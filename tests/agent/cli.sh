#!/bin/sh
# tuxtape-agent's command line on a fake root: --help of every command, usage errors (64),
# configuration errors naming file, line and key (1), status/uname/vex/clear/revert, a
# check that fails (1), one that refuses a tampered module (2), one with nothing for this
# kernel (0), and the daemon: its poll runs in a child whose state it reads back before it
# records a clean stop on SIGTERM.
. "$(dirname "$0")/../cli/lib.sh"
: "${TUXTAPE_AGENT:?TUXTAPE_AGENT must name the tuxtape-agent binary}"
[ -r "${KO_OTHER:-}" ] || { echo "SKIP: KO_OTHER (tests/agent/tt_lp_other.ko) not built" >&2; exit 77; }
command -v python3 > /dev/null || { echo "SKIP: python3 missing" >&2; exit 77; }
PIDS=""
trap 'for p in $PIDS; do kill "$p" 2>/dev/null || :; done; rm -rf "$TMP"' EXIT
ta() { "$TUXTAPE_AGENT" "$@"; }
out_has() { # out_has PATTERN : the last command's stdout matches
    if grep -q -- "$1" "$TMP/out"; then pass; else
        fail "stdout lacks '$1'"; sed 's/^/    stdout: /' "$TMP/out" | head -5
    fi
}

# ---- help and usage ----
expect_exit 0 ta --help
cp "$TMP/out" "$TMP/help"
for c in status uname check daemon revert clear vex tuf-client; do
    check "--help lists '$c'" grep -q "^  $c " "$TMP/help"
    expect_exit 0 ta "$c" --help
    out_has "^usage: tuxtape-agent $c"
done
expect_exit 0 ta --version
out_has '^tuxtape-agent [0-9]'
expect_exit 64 ta
err_has '^usage: tuxtape-agent'
expect_exit 64 ta frobnicate
err_has "'frobnicate' is not a command"
expect_exit 64 ta uname extra
err_has "unexpected argument 'extra'"
expect_exit 64 ta status --bogus
expect_exit 64 ta clear a b

# ---- configuration errors: file, line and key ----
C="$TMP/bad.conf"
bad() { # bad TEXT MESSAGE
    printf "$1" > "$C"
    expect_exit 1 ta --config "$C" status
    err_has "$2"
}
bad '# comment\n\ninterval = soon\n' "'$C' line 3: 'interval': 'soon' is not a duration"
bad 'colour = blue\n' "'$C' line 1: unknown key 'colour'"
bad 'x\n' "'$C' line 1: expected 'key = value'"
bad 'state_dir = relative\n' "'$C' line 1: 'state_dir' must be an absolute path"
bad 'archive_url = ftp://x\n' "'$C' line 1: 'archive_url' must be an http:// or https:// URL"
bad 'interval = 0\n' "'$C' line 1: 'interval' must not be 0"
bad 'trusted_root =\n' "'$C' line 1: 'trusted_root' is empty"
bad 'server_url = http://x\nserver_token_file = /t\n' "'$C' line 1: 'server_url' must be an https:// URL"
bad 'server_url = https://x\n' "'$C': 'server_url' is set but 'server_token_file' is not"
bad 'signal_after = 2m\ntransition_timeout = 1m\n' "'transition_timeout' (60s) is shorter than 'signal_after' (120s)"
expect_exit 1 ta --config "$TMP/none.conf" status
err_has "cannot read '$TMP/none.conf'"

# ---- a fake node ----
ROOT="$TMP/root"
mkdir -p "$ROOT/proc/sys/kernel/random" "$ROOT/sys/kernel/livepatch" "$ROOT/dev"
echo 5.10.0-tt-other > "$ROOT/proc/sys/kernel/osrelease"
echo 'Linux version 5.10.0-tt-other (test) #1 SMP' > "$ROOT/proc/version"
echo cli-boot-1 > "$ROOT/proc/sys/kernel/random/boot_id"
: > "$ROOT/dev/kmsg"
"$TUXTAPE" archive init "$TMP/ar" > /dev/null
"$TUXTAPE" archive add "$TMP/ar" "$KO_OTHER" --kernel 5.10.0-tt-other --cve CVE-2024-0001 > /dev/null
"$TUXTAPE" archive publish "$TMP/ar" > /dev/null
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
conf() { # conf ARCHIVE-URL
    printf 'archive_url = %s\ntrusted_root = %s\nstate_dir = %s\nsysroot = %s\nsettle = 0\njitter = 0\n' \
        "$1" "$TMP/ar/public/metadata/1.root.json" "$TMP/state" "$ROOT" > "$TMP/agent.conf"
}
A="--config $TMP/agent.conf"

conf "http://127.0.0.1:$(free_port)"
expect_exit 0 ta $A status
out_has '^kernel:     5.10.0-tt-other$'
out_has '^patches:    none loaded$'
out_has '^last check: never'
expect_exit 0 ta $A --json status
out_has '"release": "5.10.0-tt-other"'
expect_exit 0 ta $A status --json
out_has '"cves_fixed": \[\]'
expect_exit 0 ta $A uname
check "uname is the release when nothing is loaded" [ "$(cat "$TMP/out")" = 5.10.0-tt-other ]
expect_exit 0 ta $A vex
out_has '"@context": "https://openvex.dev/ns/v0.2.0"'
out_has '"statements": \[\]'
check "status, uname and vex write nothing" [ ! -e "$TMP/state/state.json" ]
expect_exit 0 ta $A clear
out_has '^cleared 0 blocked patches$'
expect_exit 1 ta $A revert
err_has 'no livepatch loaded by the agent'

# the archive cannot be reached: 1, and the error is in the status
expect_exit 1 ta $A check
err_has "cannot refresh the archive 'http://127.0.0.1:"
expect_exit 1 ta $A --json check
out_has '^{"error": '
expect_exit 0 ta $A status
out_has '^last check: .* (error)$'
out_has '^error: .*cannot refresh the archive'

# a mirror that serves other bytes than the signed ones: refused, 2, never loaded
cp -a "$TMP/ar/public" "$TMP/evil"
for f in "$TMP"/evil/targets/*/*.ko; do printf 'X' >> "$f"; done
port=$(free_port)
python3 -m http.server --bind 127.0.0.1 --directory "$TMP/evil" "$port" > "$TMP/http.log" 2>&1 &
PIDS="$PIDS $!"
sleep 1
conf "http://127.0.0.1:$port"
expect_exit 2 ta $A check
out_has '^refused 5.10.0-tt-other/tt_lp_other.ko: its length or hashes differ from the signed metadata$'
check "nothing was loaded" [ -z "$(ls "$ROOT/sys/kernel/livepatch")" ]

# nothing for this kernel: 0
echo 5.10.0-tt-unpatched > "$ROOT/proc/sys/kernel/osrelease"
expect_exit 0 ta $A check
out_has '^none$'
expect_exit 0 ta $A --json check
out_has '"result": "none"'

# ---- the daemon: a poll in a child, its state read back, a clean stop on SIGTERM ----
printf 'interval = 1h\n' >> "$TMP/agent.conf"
"$TUXTAPE_AGENT" $A -v daemon > "$TMP/daemon.out" 2> "$TMP/daemon.err" &
d=$!
PIDS="$PIDS $d"
for _ in $(seq 50); do
    grep -q '"last_check_result": "nothing for this kernel"' "$TMP/state/state.json" 2>/dev/null && break
    sleep 0.1
done
sleep 0.5
kill -TERM $d
rc=0; wait $d || rc=$?
check "the daemon exits 0 on SIGTERM" [ "$rc" = 0 ]
check "the daemon recorded a clean stop" grep -q '"clean_stop": "cli-boot-1"' "$TMP/state/state.json"
check "the child's check survived the daemon's last write" \
    grep -q '"last_check_result": "nothing for this kernel"' "$TMP/state/state.json"
check "the daemon said what it polls" grep -q "polling 'http://127.0.0.1:$port' every 3600s" "$TMP/daemon.err"
finish
