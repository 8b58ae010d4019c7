#!/bin/bash
# The whole workflow in one test (issue 11): a patch for a CVE, submitted, built and boot-tested
# by tuxtape-builder in qemu, approved by two reviewers, published to the stable channel by a
# real tuxtape-server over TLS on 127.0.0.1; then the archive the server published goes into a
# second qemu guest, where tuxtape-agent applies the livepatch and reports to the server.
#
# The guest has no network device, so it cannot reach the host's server. The server's databases
# go into the guest instead: the guest runs the same tuxtape-server binary on its own loopback
# with them (and the archive under busybox httpd), the agent posts its heartbeat there with the
# agent token the host's server issued, and the databases come back on the serial port. The
# host's server, restarted on them, must then list the node with the livepatch enabled.
# Skips (77) without qemu, the kernel packages or a static busybox.
set -u
. "$(cd "$(dirname "$0")" && pwd)"/agent-lib.sh # work, r, syms, fail (exits), agent_*
: "${TUXTAPE_SERVER:?TUXTAPE_SERVER must name the tuxtape-server binary}"
: "${TUXTAPE_BUILDER:?TUXTAPE_BUILDER must name the tuxtape-builder binary}"
SERVER_BIN=$TUXTAPE_SERVER
TMP=$work
pass() { :; }
. "$here"/../server/lib.sh # make_certs, start_server, stop_server, api; cleans up $TMP at exit

DB=$work/db/t.db
srv() { "$SERVER_BIN" --db "$DB" "$@"; }
step() { # step DESCRIPTION COMMAND... : stdout in $work/out; a failure ends the test
	local desc=$1
	shift
	"$@" > "$work"/out 2> "$work"/err || { sed 's/^/    stderr: /' "$work"/err >&2; fail "$desc"; }
}
as_() { # as_ TOKEN-NAME TUXTAPE-ARGS...
	local who=$1
	shift
	"$TUXTAPE" "$@" --token-file "$work/$who.token"
}
json() { # json EXPR [ARG] : EXPR of the JSON document j in $work/out (ARG is sys.argv[3])
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$work"/out "$@"
}

make_certs
mkdir -p "$work"/db
node="node-e2e-1"
for n in author-1 reviewer-1 reviewer-2 publisher-1 builder-1 admin-1 agent-$node; do
	role=${n%%-*}
	name=${n#agent-}
	step "token $n" srv token create --role "$role" "$name"
	cp "$work"/out "$work/$n.token"
done
step "archive init" "$TUXTAPE" archive init "$work"/stable
start_server "$work"/server.log --db "$DB" --archive "$work"/stable
export TUXTAPE_SERVER="https://127.0.0.1:$PORT" TUXTAPE_CA="$work/pki/ca.pem"

# 1. CVE -> patch -> submit: one build job for the kernel the guest boots
step "patch create" as_ author-1 --json patch create --cve CVE-2024-1001 --kernel "$KVER" \
	--patch "$here"/../livepatch/patches/a-static-helper.patch
id=$(json 'j["id"]')
step "patch submit" as_ author-1 patch submit "$id"

# 2. build and boot test: tuxtape-builder takes the job, boots the module in qemu, uploads it
mkdir -p "$work"/w-builder
XDG_CACHE_HOME="$HOME/.cache" timeout 900 "$TUXTAPE_BUILDER" -v --token-file "$work"/builder-1.token \
	--kernel "$KVER" --source-tarball "$TARBALL" --symbols "$syms" --work "$work"/w-builder \
	--poll 1 --max-jobs 1 --boot-test "$here"/qemu-run.sh 2> "$work"/builder.log ||
	{ tail -n 40 "$work"/builder.log >&2; fail "tuxtape-builder"; }
step "patch show" as_ author-1 --json patch show "$id"
[ "$(json 'j["jobs"][-1]["build"] + "/" + j["jobs"][-1]["boot"]')" = written/passed ] ||
	{ tail -n 40 "$work"/builder.log >&2; fail "the job is not built and boot-tested: $(cat "$work"/out)"; }
module=$(json 'j["jobs"][-1]["module_name"]')
job=$(json 'j["jobs"][-1]["id"]')
livepatch=${module%.ko}

# 3. two approvals by two reviewers; one is not enough to publish
step "approval 1" as_ reviewer-1 review approve "$id"
as_ publisher-1 publish "$id" --channel stable > "$work"/out 2> "$work"/err &&
	fail "published with one approval"
grep -q "is built: only an approved patch is published" "$work"/err || fail "publishing with one approval: $(cat "$work"/err)"
step "approval 2" as_ reviewer-2 review approve "$id"

# 4. publish: the stable archive now serves the module
step "publish" as_ publisher-1 --json publish "$id" --channel stable
[ "$(json 'j["state"]')" = published ] || fail "the patch is not published: $(cat "$work"/out)"
step "archive status" "$TUXTAPE" --json archive status "$work"/stable
grep -q "\"$KVER/$module\"" "$work"/out || fail "the archive does not serve $KVER/$module: $(cat "$work"/out)"
stop_server "$PID"

# 5. the guest: the archive exactly as published, the server's databases, an agent
cp -a "$work"/stable/public "$r"/tt/pub
cp "$work"/stable/public/metadata/1.root.json "$r"/tt/root.json
mkdir -p "$r"/srv "$r"/tt/pki
for f in "$work"/db/*; do
	case $f in *-wal | *-shm) fail "the stopped server left $f" ;; esac
	[ -f "$f" ] && cp "$f" "$r"/srv/
done
cp "$work"/pki/ca.pem "$work"/pki/server.pem "$work"/pki/server.key "$r"/tt/pki/
cp "$work/agent-$node.token" "$r"/tt/agent.token
agent_conf "transition_timeout = 60" "signal_after = 10" "settle = 3" \
	"server_url = https://127.0.0.1:8443" "server_token_file = /tt/agent.token" \
	"server_ca = /tt/pki/ca.pem"
agent_initrd "$here"/agent-scenario-init.sh "$SERVER_BIN"
agent_boot wf "tt.scenario=workflow tt.livepatch=$livepatch"
grep -q '^@@TT DONE ok' "$work"/result-wf.clean || { tail -n 30 "$work"/console-wf.clean >&2; fail "the guest did not finish"; }
agent_out wf server-start | grep -q "listening on" || fail "tuxtape-server did not start in the guest"
agent_out wf check1 | grep -q "^loaded $KVER/$module" || fail "the agent did not load $module"
[ "$(agent_out wf klp1 | sed '1d;$d' | tr '\n' ' ')" = "1 0 " ] ||
	fail "/sys/kernel/livepatch/$livepatch is not enabled=1 with its transition done"
agent_out wf meminfo1 | grep -q '^TuxtapeLive: *4 kB' || fail "the patched function does not run"
agent_out wf status1 | sed '1d;$d' > "$work"/out
[ "$(json '[(p["enabled"], p["transition"], p["managed"]) for p in j["patches"] if p["name"] == sys.argv[3]]' "$livepatch")" = "[(True, False, True)]" ] ||
	fail "the agent's status does not say $livepatch is enabled, its transition done: $(cat "$work"/out)"
[ "$(json 'j["cves_fixed"]')" = "['CVE-2024-1001']" ] || fail "the agent's status does not list CVE-2024-1001 as fixed"
agent_out wf check1 | grep "cannot report to the server" && fail "the agent could not report to the server"
grep -q '^@@TT SERVER-EXIT 0' "$work"/result-wf.clean || fail "the guest's server did not stop cleanly"

# 6. the server's state back from the guest: the node reported the patch enabled
mkdir -p "$work"/back
sed -n '/^@@TT STATE-BEGIN$/,/^@@TT STATE-END$/p' "$work"/result-wf.clean | sed '1d;$d' |
	base64 -d | tar -C "$work"/back -xf - || fail "the server's state did not come back"
TUXTAPE_SERVER=$SERVER_BIN
start_server "$work"/server2.log --db "$work"/back/t.db
# shellcheck disable=SC2034 # as() in tests/server/lib.sh reads it
TOKEN_admin=$(cat "$work"/admin-1.token)
api "/v1/fleet/nodes/$node" -H "$(as admin)"
[ "$STATUS" = 200 ] || fail "GET /v1/fleet/nodes/$node: $STATUS $(cat "$work"/body)"
cp "$work"/body "$work"/out
[ "$(json 'j["kernel"]')" = "$KVER" ] || fail "the node's kernel is not $KVER: $(cat "$work"/body)"
[ "$(json 'j["state"]')" = ok ] || fail "the node is not ok: $(cat "$work"/body)"
[ "$(json 'j["effective_version"]')" = "$KVER+$livepatch" ] || fail "the node's effective version is not $KVER+$livepatch"
# the agent loaded it: the heartbeat names it with the SHA-256 of the module the job wrote,
# which is what lets GET /v1/cves/{id}/exposure call the node patched
cp "$work"/body "$work"/node.json
api "/v1/jobs/$job" -H "$(as admin)"
[ "$STATUS" = 200 ] || fail "GET /v1/jobs/$job: $STATUS $(cat "$work"/body)"
cp "$work"/body "$work"/out
jsha=$(json 'j["module_sha256"]')
cp "$work"/node.json "$work"/out
[ "$(json 'j["patches"]')" = "[{'name': '$livepatch', 'sha256': '$jsha'}]" ] ||
	fail "the node's heartbeat does not list $livepatch with its module's SHA-256 $jsha: $(cat "$work"/node.json)"
# and the server, from that name and digest, vouches for the fix of the published revision
[ "$(json 'j["patched_cves"]')" = "['CVE-2024-1001']" ] ||
	fail "the server does not vouch that the node is patched for CVE-2024-1001: $(cat "$work"/node.json)"
stop_server "$PID"
echo "PASS: CVE -> patch -> build -> boot test -> two approvals -> publish -> agent in qemu applied $livepatch and reported it"
