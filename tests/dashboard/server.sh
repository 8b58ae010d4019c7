#!/bin/sh
# The dashboard against a real tuxtape-server on 127.0.0.1 (TLS, a viewer token), filled with
# the shared CVE records, two kernels and agents that report with their own tokens: every
# screen at 80x24 and 200x60; the CVE list, detail and filters the same as the local backend
# shows for the same database; the Fleet screen by kernel and state, and changing on its own
# when agents report an error, a reverted patch, a recovery; a node counts as patched for a
# CVE only where the server vouches for its module (published), never by a livepatch name.
. "$(dirname "$0")/lib.sh"
: "${TUXTAPE_SERVER:?TUXTAPE_SERVER must name the tuxtape-server binary}"
. "$SRCDIR/tests/server/lib.sh"
# Both helpers' clean-ups: the server, the tmux servers, the directory.
trap 'for p in $SERVER_PIDS; do kill "$p" 2>/dev/null || :; done
      for s in "$TMP"/tmux.*.sock; do tmux -S "$s" kill-server 2>/dev/null || true; done
      rm -rf "$TMP"' EXIT

DB="$TMP/db/t.db"
make_db "$DB"
make_certs
for n in web1 web2 db1; do
    "$TUXTAPE_SERVER" --db "$DB" token create --role agent "$n" >"$TMP/tok.$n" 2>/dev/null
done
"$TUXTAPE_SERVER" --db "$DB" token create --role viewer alice >"$TMP/tok.viewer" 2>/dev/null
for n in author-1 reviewer-1 reviewer-2 publisher-1 builder-1; do
    "$TUXTAPE_SERVER" --db "$DB" token create --role "${n%-*}" "$n" >"$TMP/tok.$n" 2>/dev/null
done
"$TUXTAPE" archive init "$TMP/stable" >/dev/null 2>&1 || { fail "archive init"; exit 1; }
start_server "$TMP/server.log" --db "$DB" --archive "$TMP/stable" --allow-untested
URL="https://127.0.0.1:$PORT"
agent() { # agent NAME heartbeat|status JSON
    api "/v1/fleet/$2" -H "Authorization: Bearer $(cat "$TMP/tok.$1")" \
        -H 'Content-Type: application/json' -d "$3"
    expect_status 200 "$1: POST /v1/fleet/$2"
}
as_() { # as_ WHO PATH JSON: a POST with WHO's token
    api "$2" -X POST -H "Authorization: Bearer $(cat "$TMP/tok.$1")" \
        -H 'Content-Type: application/json' -d "$3"
}
# A fix the server vouches for: a patch for a CVE affected on web-6.1, its module built,
# approved by two reviewers and published.
PCVE=$("$TUXTAPE" --db "$DB" --json cve list -n 1 --kernel web-6.1 --status affected | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
as_ author-1 /v1/patches "{\"cve\":\"$PCVE\",\"kernels\":[\"6.1.40-web\"],\"patch\":\"--- a/x\\n+++ b/x\\n@@ -1 +1 @@\\n-a\\n+b\\n\"}"
expect_status 201 "a patch for $PCVE"
P=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$TMP/body")
as_ author-1 "/v1/patches/$P/submit" '{}'
expect_status 200 "submitted"
as_ builder-1 /v1/jobs/lease '{"kernels":["6.1.40-web"]}'
JOB=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["job"]["id"])' "$TMP/body")
# A module the archive takes: an object with a livepatch's .modinfo (no code to load).
printf '__attribute__((section(".modinfo"), used)) static const char mi[] = "livepatch=Y\\0name=livepatch_vouched\\0vermagic=6.1.40-web SMP preempt mod_unload modversions ";\n' >"$TMP/mod.c"
${CC:-cc} -c "$TMP/mod.c" -o "$TMP/mod.ko" || fail "the test module"
as_ builder-1 "/v1/jobs/$JOB/result" "{\"build\":\"written\",\"boot\":\"skipped\",\"module_name\":\"livepatch_vouched.ko\",\"module\":\"$(base64 -w0 "$TMP/mod.ko")\"}"
expect_status 200 "the module built"
for r in reviewer-1 reviewer-2; do
    as_ $r "/v1/patches/$P/reviews" '{"verdict":"approve"}'
    expect_status 201 "$r approves"
done
as_ publisher-1 "/v1/patches/$P/publish" '{"channel":"stable"}'
expect_status 200 "published"
SHA=$(sha256sum "$TMP/mod.ko" | cut -d' ' -f1)
# another CVE affected on web-6.1, for a livepatch reported by a name that spells it
DCVE=$("$TUXTAPE" --db "$DB" --json cve list -n 0 --kernel web-6.1 --status affected | python3 -c 'import json,sys; print([x["id"] for x in json.load(sys.stdin) if x["id"] not in ("'"$PCVE"'", "CVE-2026-72493")][0])')
DNAME=livepatch_$(echo "$DCVE" | tr - _)
agent web1 heartbeat '{"kernel":"6.1.40-web","effective_version":"6.1.40","patches":[],"uptime":100}'
# the agent's form for a module it loaded: the name and the module's SHA-256. web2 runs the
# published module (its name spells no CVE), one whose name spells an affected CVE but that
# the server never built, and one known by a name alone that spells another: only the first
# makes it patched (the server's patched_cves, never the names).
agent web2 heartbeat "{\"kernel\":\"web-6.1\",\"patches\":[{\"name\":\"livepatch_vouched\",\"sha256\":\"$SHA\"},{\"name\":\"livepatch_CVE_2026_72493\",\"sha256\":\"2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881\"},\"$DNAME\"],\"uptime\":50}"
api /v1/fleet/nodes -H "Authorization: Bearer $(cat "$TMP/tok.viewer")"
check "the server vouches for web2's published module alone" python3 -c "
import json; n={x['name']: x['patched_cves'] for x in json.load(open('$TMP/body'))}
assert n['web2'] == ['$PCVE'] and n['web1'] == [], n"
check "CVE-2026-72493 is affected on web-6.1 (the name is a decoy)" sh -c "'$TUXTAPE' --db '$DB' --json cve list -n 0 --kernel web-6.1 --status affected | grep -q '\"CVE-2026-72493\"'"
N_AFF=$("$TUXTAPE" --db "$DB" --json cve list -n 0 --kernel web-6.1 --status affected | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
agent db1 heartbeat '{"kernel":"6.1.100-db","patches":[],"uptime":1000}'
agent db1 status '{"event":"transition-stalled","patch":"livepatch_x","detail":"task 123 holds the transition"}'

n_pub=$("$TUXTAPE" --db "$DB" --json cve list -n 0 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
DASH_ENV="TUXTAPE_TOKEN=$(cat "$TMP/tok.viewer")"
SRV_ARGS="--server $URL --cacert $TMP/pki/ca.pem --refresh 1"

for size in 80x24 200x60; do
    w=${size%x*}; h=${size#*x}
    start "$w" "$h" $SRV_ARGS
    expect "$size: loads every published CVE through the server" "$n_pub CVEs, 2 kernels, nodes loaded" 60
    expect "$size: the source is the server" '^ 1 CVEs .* server @ '
    check "$size: fills the height" [ "$(screen | wc -l)" = "$h" ]
    expect "$size: rows with verdict glyphs and node counts" '^CVE-[0-9]{4}-[0-9]+ +[0-9.-]+ +(CRIT|HIGH|MED|LOW|-) .* [Acf.?]{2} +[0-9]+ '
    keys Enter
    expect "$size: CVE detail" 'Priority:'
    keys q 2
    expect "$size: kernels with their nodes" '^1  db-6.1 .* 1$'
    expect "$size: web-6.1 has two nodes (by name and by release)" '^2  web-6.1 .* 2$'
    keys Enter
    expect "$size: kernel detail" 'Kernel db-6.1'
    keys q 3
    expect "$size: fleet by kernel" '^KERNEL +NODES +OK +ERROR +STALE +AFFECTED'
    expect "$size: db-6.1: one node, in error" '^db-6.1 +1 +0 +1 +0 +[0-9]+'
    expect "$size: web-6.1: two nodes ok" '^web-6.1 +2 +2 +0 +0 +[0-9]+'
    expect "$size: node list" '^NODE +KERNEL +STATE +PATCHES +EXPOSED'
    expect "$size: the stalled transition shows" '^db1 +6.1.100-db +error .*transition-stalled livepatch_'
    expect "$size: web1 is exposed to every CVE affected on web-6.1" "^web1 +6.1.40-web +ok +0 +$N_AFF( |\$)"
    expect "$size: web2 to one fewer: a name proves nothing" "^web2 +web-6.1 +ok +3 +$((N_AFF - 1))( |\$)"
    keys Enter
    expect "$size: node detail" 'Node db1'
    expect "$size: node errors" 'transition-stalled livepatch_x: task 123'
    expect "$size: CVEs the node is exposed to" 'Exposed to: [0-9]+ CVEs \(affected on db-6.1'
    keys q 4
    expect "$size: patches" 'Patches'
    keys 5
    expect "$size: exposure chart" 'Exposure of db-6.1'
    keys '?'
    expect "$size: help" '^Keys:'
    keys q
    for s in 1 2 3 4 5 '?'; do keys "$s"; sleep 0.3; screen >"$TMP/screen-$size-$s.txt"; done
    stop
done

# The CVE list, its detail and its filters through the server are what the local backend
# shows for the same database, but for the source's name, the NODES column and the status
# line (which says how long loading took).
norm() { # the screen without the tab bar, the status line and NODES
    screen | sed '1d;$d' | awk -v c="$nodes_col" '{ if (c > 0 && substr($0, 1, 4) == "CVE-") $0 = substr($0, 1, c - 1) "     " substr($0, c + 5); print }'
}
walk() { # walk OUT ARGS...: the same keys in each backend
    out=$1; shift
    start 80 24 "$@"
    wait_for "$n_pub CVEs, 2 kernels" 60 >/dev/null || fail "$out: not loaded"
    nodes_col=$(screen | sed -n 3p | awk '{ print index($0, "NODES") }')
    norm >"$out.list"
    keys Enter; wait_for 'Priority:' >/dev/null || fail "$out: no detail"; sleep 0.3; norm >"$out.detail"
    # The reasons per kernel; the server adds the nodes on each kernel.
    keys Tab / Verdicts: Enter; sleep 0.5
    norm | grep -E '^ +(db|web)-6.1 ' | sed -E 's/ +[0-9]+ nodes?$//' >"$out.verdicts"
    keys q c K v; wait_for 'kernel:db-6.1  status:affected' >/dev/null || fail "$out: filter"
    sleep 0.3; norm >"$out.affected"
    keys c s; wait_for 'sev:critical' >/dev/null || fail "$out: severity"; sleep 0.3; norm >"$out.critical"
    keys c F 'net/ipv4/*' Enter; wait_for 'file:net/ipv4/\*' >/dev/null || fail "$out: file"
    sleep 0.5; norm >"$out.file"
    keys c / CVE-2024-26581 Enter Enter; wait_for '^CVE-2024-26581  published;' >/dev/null || fail "$out: search"
    sleep 0.3; norm >"$out.search"
    stop
}
DASH_ENV="" walk "$TMP/local" --db "$DB"
walk "$TMP/server" $SRV_ARGS
for v in list detail verdicts affected critical file search; do
    if cmp -s "$TMP/local.$v" "$TMP/server.$v"; then pass; else
        fail "CVEs ($v) through the server differ from the local backend"
        diff "$TMP/local.$v" "$TMP/server.$v" | head -10 | sed 's/^/    /'
    fi
done
check "the comparison saw rows" grep -q '^CVE-' "$TMP/local.list"

# The Fleet screen follows the agents without a key: an error, a reverted patch, a recovery.
start 80 24 $SRV_ARGS
wait_for "$n_pub CVEs, 2 kernels" 60 >/dev/null || fail "not loaded"
keys 3
expect "fleet before" '^web-6.1 +2 +2 +0 +0 '
agent web2 status '{"event":"load-failure","patch":"livepatch_CVE_2026_72493","detail":"reverted: transition did not finish in 60 s"}'
expect "a reverted patch shows without a key" '^web2 +web-6.1 +error .*load-failure livepatch_CVE_2' 10
expect "web-6.1 now has a node in error" '^web-6.1 +2 +1 +1 +0 '
agent web2 heartbeat '{"kernel":"web-6.1","patches":[],"uptime":60}'
agent db1 status '{"event":"ok"}'
expect "db1 recovers" '^db1 +6.1.100-db +ok ' 10
expect "db-6.1 has no error left" '^db-6.1 +1 +1 +0 +0 '
expect "web2's reverted patch is gone from its count" '^web2 +web-6.1 +error +0 ' 10
"$TUXTAPE_SERVER" --db "$DB" token create --role agent web3 >"$TMP/tok.web3" 2>/dev/null
agent web3 heartbeat '{"kernel":"5.10.0-other","uptime":5}'
expect "a new node on a kernel outside the inventory" '^\(not in inventory\) +1 +1 +0 +0 ' 10
expect "its exposure is unknown" '^web3 +5.10.0-other +ok +0 +-( |$)' 10
stop
stop_server "$PID"
finish
