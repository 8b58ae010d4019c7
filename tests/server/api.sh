#!/bin/sh
# tuxtape-server over real HTTPS on 127.0.0.1 with curl: every route x every role (allowed,
# 403, or 401 without a token), tokens (bad, revoked), body and header limits, keep-alive,
# strict requests, the fleet, kernel add, the audit log, metrics, the OpenAPI document,
# client certificates, and CVE/kernel answers byte-identical to `tuxtape --json`.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/lib.sh"

DB="$TMP/db/t.db"
tt() { "$TUXTAPE" --db "$DB" "$@"; }
srv() { "$TUXTAPE_SERVER" --db "$DB" "$@"; }
make_certs node1 node2

# ---- a tiny CVE repository and kernel tree (as tests/cli/kernel.sh) ----
K="$TMP/linux"
put() { mkdir -p "$(dirname "$K/$1")"; printf "$2" >"$K/$1"; }
put Makefile 'VERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 40\ncore-y :=\ndrivers-y :=\ninclude $(srctree)/arch/$(SRCARCH)/Makefile\nexport ARCH_DRIVERS := $(drivers-y)\n'
put Kbuild 'obj-y += net/ drivers/ fs/ arch/$(SRCARCH)/\n'
put scripts/Makefile.build '# not read\n'
put arch/x86/Makefile 'BITS := 64\n'
put arch/x86/Kbuild 'obj-y += kernel/\n'
put arch/x86/kernel/Makefile 'obj-y += setup.o\n'
put arch/x86/kernel/setup.c ''
put net/Makefile 'obj-y += core/\n'
put net/core/Makefile 'obj-y += dev.o\n'
put net/core/dev.c ''
put drivers/Makefile 'obj-$(CONFIG_FOO) += foo.o\n'
put drivers/foo.c ''
put fs/Makefile 'obj-$(CONFIG_BAR) += bar.o\n'
put fs/bar.c ''
printf 'CONFIG_X86=y\nCONFIG_X86_64=y\nCONFIG_FOO=m\n# CONFIG_BAR is not set\n' >"$TMP/config"

R="$TMP/vulns"
git init -q -b master "$R"
git -C "$R" config user.email t@example.org
git -C "$R" config user.name test
BASE=0123456789abcdef0123456789abcdef01234567
record() { # record ID FILES SCORE DYAD
    dir="$R/cve/published/2024"; mkdir -p "$dir"
    cat >"$dir/$1.json" <<JSON
{"containers":{"cna":{"title":"$1 title","descriptions":[{"lang":"en","value":"bug"}],
 "affected":[{"product":"Linux","vendor":"Linux","defaultStatus":"affected","programFiles":$2,
   "versions":[{"version":"5.10","status":"affected"}]}],
 "metrics":[{"cvssV3_1":{"version":"3.1","vectorString":"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H","baseScore":$3,"baseSeverity":"HIGH"}}]}},
 "cveMetadata":{"cveId":"$1","state":"PUBLISHED"},"dataType":"CVE_RECORD","dataVersion":"5.1"}
JSON
    printf '# dyad\n%b' "$4" >"$dir/$1.dyad"
}
record CVE-2024-1001 '["net/core/dev.c"]' 7.8 "5.10:$BASE:6.2:$BASE\n"
record CVE-2024-1002 '["fs/bar.c"]' 7.8 "5.10:$BASE:6.2:$BASE\n"
record CVE-2024-1003 '["net/ipv4/tcp.c"]' 7.8 "6.5:$BASE:6.7:$BASE\n"
git -C "$R" add -A; git -C "$R" commit -qm one
expect_exit 0 tt cve sync --repo "$R"
expect_exit 0 tt kernel add k1 --release 6.1.40 --config "$TMP/config" --source "$K"

# ---- tokens, one per role ----
ROLES="viewer author reviewer publisher builder agent admin"
for r in $ROLES; do
    name=$r-1; [ "$r" = agent ] && name=node1
    expect_exit 0 srv token create --role "$r" "$name"
    check "token create prints one token" grep -qx 'tt_[A-Za-z0-9_-]\{43\}' "$TMP/out"
    eval "TOKEN_$r=\$(cat \"\$TMP/out\")"
done
check "only the token's hash is stored" [ "$(sqlite3 "$TMP/db/server.db" "SELECT count(*) FROM token WHERE hash = '$(printf %s "$TOKEN_admin" | sha256sum | cut -d' ' -f1)'")" = 1 ]
check "no token in clear in the database" sh -c "! grep -qF '$TOKEN_admin' '$TMP/db/server.db'"
expect_exit 1 srv token create --role admin admin-1
err_has "a token named 'admin-1' exists"
expect_exit 64 srv token create --role root x
expect_exit 1 srv token create --role viewer 'bad/name'
expect_exit 0 srv token list
check "token list shows every role" [ "$(grep -c -E ' (viewer|author|reviewer|publisher|builder|agent|admin) ' "$TMP/out")" = 7 ]

start_server "$TMP/server.log" --db "$DB" --kernel-source "$K" --max-body 65536 --max-header 8192 --request-timeout 3

# ---- the role matrix: every route of the table x every role, and no token ----
expect_exit 0 srv routes --json
cp "$TMP/out" "$TMP/routes.json"
python3 - "$TMP/routes.json" >"$TMP/matrix" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1])):
    path = r["path"].replace("{id}", "CVE-2024-1001")
    # a name nothing is called, so that an allowed DELETE removes nothing
    path = path.replace("{name}", "nosuch" if r["method"] == "DELETE" else "k1")
    roles = ",".join(r["roles"]) or "-"
    print(r["method"], path, "public" if r["public"] else "token", roles)
PY
n=0
while read -r method path kind roles; do
    for r in none $ROLES; do
        set -- -X "$method"
        [ "$r" = none ] || set -- "$@" -H "$(as "$r")"
        [ "$method" = POST ] && set -- "$@" -H 'Content-Type: application/json' --data '{}'
        api "$path" "$@"
        n=$((n + 1))
        if [ "$kind" = public ]; then
            expect_status 200 "$method $path as $r (public)"
        elif [ "$r" = none ]; then
            expect_status 401 "$method $path without a token"
        elif echo ",$roles," | grep -q ",$r,"; then
            case $STATUS in 401|403|curl-failed) fail "$method $path as $r: $STATUS, want allowed";; *) pass;; esac
        else
            expect_status 403 "$method $path as $r"
        fi
    done
done <"$TMP/matrix"
echo "role matrix: $n requests over $(wc -l <"$TMP/matrix") routes"
check "the matrix covers the whole table" [ "$n" = $(( $(wc -l <"$TMP/matrix") * 8 )) ]
check "an agent cannot read the CVE list" grep -q '^GET /v1/cves token viewer,author,reviewer,publisher,admin$' "$TMP/matrix"
check "agents reach only their own endpoints and whoami" [ "$(grep -c '[,= ]agent' "$TMP/matrix")" = 3 ]
check "builders reach only whoami and the job queue" [ "$(grep -c builder "$TMP/matrix")" = 5 ]

# ---- tokens: bad, malformed, revoked ----
api /v1/whoami -H "$(as viewer)"
expect_status 200 "whoami"
body_has '"role": "viewer"'
api /v1/whoami -H "Authorization: Bearer tt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
expect_status 401 "an unknown token"
body_has '"error": "unknown token"'
api /v1/whoami -H "Authorization: Bearer nonsense"
expect_status 401 "a malformed token"
api /v1/whoami -H "Authorization: Basic dXNlcjpwYXNz"
expect_status 401 "basic auth"
expect_exit 0 srv token create --role viewer short-lived
SHORT=$(cat "$TMP/out")
api /v1/cves -H "Authorization: Bearer $SHORT"
expect_status 200 "a fresh token"
expect_exit 0 srv token revoke short-lived
api /v1/cves -H "Authorization: Bearer $SHORT"
expect_status 401 "a revoked token, at once"
body_has "revoked"
expect_exit 1 srv token revoke short-lived
err_has "no active token 'short-lived'"
expect_exit 0 srv token create --role viewer short-lived
check "a revoked token's name can be reused" grep -q '^tt_' "$TMP/out"

# ---- limits ----
head -c 70000 /dev/zero | tr '\0' 'a' >"$TMP/big"
api /v1/fleet/heartbeat -H "$(as agent)" -H 'Content-Type: application/json' --data-binary @"$TMP/big"
expect_status 413 "a body over --max-body (Content-Length)"
api /v1/fleet/heartbeat -H "$(as agent)" -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/big"
expect_status 413 "a chunked body over --max-body"
api /v1/fleet/heartbeat -H 'Content-Type: application/json' --data-binary @"$TMP/big"
expect_status 413 "an oversized body without a token is refused by its size first"
# A refusal decided at the headers waits for the body (read and dropped) so that the client
# reads it instead of a reset; a client that asks for "100 Continue" gets it at once.
head -c 2000000 /dev/zero | tr '\0' 'a' >"$TMP/huge"
api /v1/fleet/heartbeat -H "$(as agent)" -H 'Content-Type: application/json' -H 'Expect: 100-continue' --data-binary @"$TMP/huge"
expect_status 413 "a body over --max-body, the client waiting for 100 Continue"
body_has '"error": "the body is larger than this server accepts"'
head -c 60000 /dev/zero | tr '\0' 'a' >"$TMP/mid"
for i in 1 2 3 4 5 6 7 8 9 10; do
    api /v1/fleet/heartbeat -H "$(as agent)" -H 'Content-Type: application/json' --data-binary @"$TMP/big"
    expect_status 413 "a body over --max-body, again ($i)"
    api /v1/fleet/heartbeat -H 'Content-Type: application/json' --data-binary @"$TMP/mid"
    expect_status 401 "a body without a token ($i)"
done
body_has "a bearer token is needed"
api /v1/cves -X POST -H "$(as viewer)" -H 'Content-Type: application/json' --data-binary @"$TMP/mid" -D "$TMP/headers"
expect_status 405 "a body to a GET route"
check "405 with its Allow header after the dropped body" grep -qi '^Allow: GET' "$TMP/headers"
api /v1/cves -H "$(as viewer)" -H "X-Padding: $(head -c 20000 /dev/zero | tr '\0' 'b')"
expect_status 431 "headers over --max-header"
api /v1/cves -H "$(as viewer)"
expect_status 200 "the server still answers after refusals"

# ---- keep-alive: two requests, one connection ----
curl -s --cacert "$TMP/pki/ca.pem" -H "$(as viewer)" -o /dev/null -o /dev/null \
    -w '%{http_code} %{num_connects}\n' "https://127.0.0.1:$PORT/v1/cves" \
    "https://127.0.0.1:$PORT/v1/kernels" >"$TMP/ka"
printf '200 1\n200 0\n' >"$TMP/ka.want"
check "HTTP/1.1 keep-alive: the second request reuses the connection" cmp -s "$TMP/ka" "$TMP/ka.want"

# ---- strict requests ----
api /v1/cves?bogus=1 -H "$(as viewer)"
expect_status 400 "an unknown query parameter"
body_has "unknown query parameter 'bogus'"
api "/v1/cves?min_score=11" -H "$(as viewer)"
expect_status 400 "min_score out of range"
api "/v1/cves?status=affected" -H "$(as viewer)"
expect_status 400 "status without kernel"
api /v1/cves/not-a-cve -H "$(as viewer)"
expect_status 400 "a malformed CVE id"
api /v1/cves/CVE-2099-0001 -H "$(as viewer)"
expect_status 404 "an unknown CVE"
body_has "no CVE 'CVE-2099-0001' in the database"
api /v1/kernels/nosuch -H "$(as viewer)"
expect_status 404 "an unknown kernel"
body_has "no kernel 'nosuch'"
api /v1/nothing -H "$(as viewer)"
expect_status 404 "an unknown path"
api /v1/../v1/cves -H "$(as viewer)" --path-as-is
expect_status 404 "a dot-dot path"
api /v1/cves -X PUT -H "$(as viewer)"
expect_status 405 "a method the path does not have"
curl -s -o /dev/null -D "$TMP/hdr" --cacert "$TMP/pki/ca.pem" -X PUT -H "$(as admin)" "https://127.0.0.1:$PORT/v1/kernels"
check "405 names the allowed methods" grep -qi '^Allow: GET, POST' "$TMP/hdr"
api /v1/fleet/heartbeat -H "$(as agent)" -H 'Content-Type: text/plain' --data '{"kernel":"x"}'
expect_status 415 "a body that is not JSON by type"
api /v1/fleet/heartbeat -H "$(as agent)" -H 'Content-Type: application/json' --data '{"kernel":"x",'
expect_status 400 "truncated JSON"
api /v1/fleet/heartbeat -H "$(as agent)" -H 'Content-Type: application/json' --data '{"kernel":"x","surprise":1}'
expect_status 400 "an unknown field"
api /v1/fleet/heartbeat -H "$(as agent)" -H 'Content-Type: application/json' --data '{"kernel":"x","kernel":"y"}'
expect_status 400 "a duplicate key"
api /v1/cves -H "$(as viewer)" -H 'Content-Type: application/json' --data '{}'
expect_status 405 "a body to a GET-only path"

# ---- the fleet ----
api /v1/fleet/heartbeat -H "$(as agent)" -H 'Content-Type: application/json' \
    --data '{"kernel":"6.1.0-26-amd64","effective_version":"6.1.112","patches":["lp-cve-2024-1001"],"uptime":3600}'
expect_status 200 "a heartbeat"
body_has '"heartbeats": 1'
api /v1/fleet/heartbeat -H "$(as agent)" -H 'Content-Type: application/json' --data '{"kernel":"6.1.0-26-amd64"}'
body_has '"heartbeats": 2'
api /v1/fleet/status -H "$(as agent)" -H 'Content-Type: application/json' \
    --data '{"event":"load-failure","patch":"lp-cve-2024-1001","detail":"insmod: Invalid module format"}'
expect_status 200 "a status event"
body_has '"state": "error"'
api /v1/fleet/status -H "$(as agent)" -H 'Content-Type: application/json' --data '{"event":"melted"}'
expect_status 400 "an unknown event"
api /v1/fleet/nodes -H "$(as viewer)"
body_has '"name": "node1"'
body_has '"state": "error"'
api /v1/fleet/nodes/node1 -H "$(as reviewer)"
body_has '"event": "load-failure"'
body_has '"detail": "insmod: Invalid module format"'
api /v1/fleet/nodes/node9 -H "$(as viewer)"
expect_status 404 "an unknown node"
# patches in both forms: a name (a livepatch the agent did not load) and {"name", "sha256"}
SHA=$(printf 'a module' | sha256sum | cut -d' ' -f1)
api /v1/fleet/heartbeat -H "$(as agent)" -H 'Content-Type: application/json' \
    --data "{\"kernel\":\"6.1.0-26-amd64\",\"patches\":[\"hand_made\",{\"name\":\"tt_job7\",\"sha256\":\"$SHA\"}]}"
expect_status 200 "a heartbeat with a name and a name with its module's digest"
api /v1/fleet/nodes -H "$(as viewer)"
check "the node list shows the patches as reported" python3 -c "
import json; n={x['name']: x for x in json.load(open('$TMP/body'))}
assert n['node1']['patches'] == ['hand_made', {'name': 'tt_job7', 'sha256': '$SHA'}], n['node1']"
cp "$TMP/body" "$TMP/nodes-before"
UPPER=$(echo "$SHA" | tr a-f A-F)
# bad_patches DESCRIPTION PATCHES-JSON WANT : refused with 400 naming the field, nothing stored
bad_patches() {
    api /v1/fleet/heartbeat -H "$(as agent)" -H 'Content-Type: application/json' \
        --data "{\"kernel\":\"6.1.0-26-amd64\",\"patches\":$2}"
    expect_status 400 "$1"
    body_has "$3"
}
bad_patches "an upper-case digest" "[{\"name\":\"a\",\"sha256\":\"$UPPER\"}]" 'patches[0].sha256: 64 lowercase hexadecimal digits'
bad_patches "a digest of 63 digits" "[\"b\",{\"name\":\"a\",\"sha256\":\"${SHA%?}\"}]" 'patches[1].sha256: 64 lowercase hexadecimal digits'
bad_patches "a digest of 65 digits" "[{\"name\":\"a\",\"sha256\":\"${SHA}0\"}]" 'patches[0].sha256: 64 lowercase hexadecimal digits'
bad_patches "a digest with a non-hex digit" "[{\"name\":\"a\",\"sha256\":\"g${SHA#?}\"}]" 'patches[0].sha256'
bad_patches "an empty digest" '[{"name":"a","sha256":""}]' 'patches[0].sha256'
bad_patches "a digest that is a number" '[{"name":"a","sha256":5}]' 'patches[0]'
bad_patches "an object without a digest" '[{"name":"a"}]' 'patches[0]'
bad_patches "an object without a name" "[{\"sha256\":\"$SHA\"}]" 'patches[0]'
bad_patches "an unknown field in a patch" "[{\"name\":\"a\",\"sha256\":\"$SHA\",\"signed\":true}]" 'patches[0]'
bad_patches "an empty name" "[{\"name\":\"\",\"sha256\":\"$SHA\"}]" 'patches[0]: a name (1-256 characters)'
bad_patches "a name of 257 characters" "[{\"name\":\"$(printf '%0257d' 0)\",\"sha256\":\"$SHA\"}]" 'patches[0]: a name (1-256 characters)'
bad_patches "a patch that is a number" '["a",7]' 'patches[1]: a name'
bad_patches "a patch that is an array" '[["a"]]' 'patches[0]: a name'
bad_patches "257 patches" "[$(python3 -c 'print(",".join(["\"p\""] * 257))')]" 'patches: an array of at most 256'
api /v1/fleet/nodes -H "$(as viewer)"
check "the refused heartbeats stored nothing" cmp -s "$TMP/body" "$TMP/nodes-before"
api /metrics -H "$(as viewer)"
expect_status 200 "metrics"
body_has 'tuxtape_fleet_nodes{state="error"} 1'
body_has 'tuxtape_http_requests_total{route="GET /v1/cves",code="403"}'
body_has 'tuxtape_http_requests_total{route="POST /v1/fleet/heartbeat",code="413"}'
body_has 'tuxtape_http_request_duration_seconds_bucket{route="GET /v1/cves/{id}",le="+Inf"}'

# ---- kernel add through the API: the config posted, the files from --kernel-source ----
python3 -c "import json,sys; print(json.dumps({'name':'k-api','release':'6.1.40','config':open('$TMP/config').read()}))" >"$TMP/kadd.json"
api /v1/kernels -H "$(as admin)" -H 'Content-Type: application/json' --data-binary @"$TMP/kadd.json"
expect_status 201 "kernel add"
body_has '"file_count": 3'
api /v1/kernels -H "$(as admin)" -H 'Content-Type: application/json' --data-binary @"$TMP/kadd.json"
expect_status 409 "the same kernel again"
api /v1/kernels -H "$(as admin)" -H 'Content-Type: application/json' --data '{"name":"../x","release":"6.1","config":"CONFIG_X=y"}'
expect_status 400 "a kernel name with a path in it"
check "the config is kept under the server's directory" sh -c "ls '$TMP/db/kernel-configs/' | grep -q '^k-api-[0-9a-f]*\.config$'"

# ---- CVE and kernel answers: byte-identical to tuxtape --json ----
same() { # same DESCRIPTION PATH TUXTAPE-ARGS...
    desc=$1; path=$2; shift 2
    api "$path" -H "$(as viewer)"
    tt --json "$@" >"$TMP/cli.json"
    if [ "$STATUS" = 200 ] && cmp -s "$TMP/body" "$TMP/cli.json"; then pass; else
        fail "$desc: $path ($STATUS) differs from tuxtape --json $*"
        diff "$TMP/cli.json" "$TMP/body" | head -5
    fi
}
same "cve list" "/v1/cves?limit=0" cve list
same "cve list --limit" "/v1/cves?limit=2" cve list --limit 2
same "cve list --file" "/v1/cves?file=net/*&limit=0" cve list --file 'net/*'
same "cve list --kernel --status" "/v1/cves?kernel=k1&status=affected&limit=0" cve list --kernel k1 --status affected
same "cve show" /v1/cves/CVE-2024-1001 cve show CVE-2024-1001
same "cve stats" /v1/cves/stats cve stats
same "kernel list" /v1/kernels kernel list
same "kernel show" /v1/kernels/k-api kernel show k-api
same "kernel verdicts" "/v1/kernels/k-api/verdicts?limit=0" cve list --kernel k-api
same "fleet summary" /v1/fleet/summary fleet summary

api /v1/kernels/k-api -X DELETE -H "$(as admin)"
expect_status 200 "kernel remove"
api /v1/kernels/k-api -H "$(as admin)"
expect_status 404 "the removed kernel"

# ---- the audit log ----
api "/v1/audit?limit=1000" -H "$(as admin)"
expect_status 200 "audit"
for a in token.create token.revoke node.register node.state kernel.add kernel.remove; do
    body_has "\"action\": \"$a\""
done
check "audit records who and from where" python3 -c "
import json; a=json.load(open('$TMP/body'))
k=[e for e in a if e['action']=='kernel.add'][0]
assert k['actor']=='admin-1' and k['role']=='admin' and k['remote'].startswith('127.0.0.1:') and k['object']=='k-api', k
t=[e for e in a if e['action']=='token.create'][0]
assert t['actor'].startswith('local:') and t['remote']=='local'
assert all(a[i]['id']<a[i+1]['id'] for i in range(len(a)-1))"
api "/v1/audit?after=3&limit=2" -H "$(as admin)"
check "audit pages by id" python3 -c "import json; a=json.load(open('$TMP/body')); assert [e['id'] for e in a]==[4,5], a"
check "the audit log refuses UPDATE" sh -c "! sqlite3 '$TMP/db/server.db' \"UPDATE audit SET actor = 'x'\" 2>/dev/null"
check "the audit log refuses DELETE" sh -c "! sqlite3 '$TMP/db/server.db' 'DELETE FROM audit' 2>/dev/null"

# ---- the OpenAPI document lists every route with its roles ----
api /v1/openapi.json
expect_status 200 "openapi"
check "openapi: valid JSON, every route with its roles, nothing else" python3 -c "
import json
doc=json.load(open('$TMP/body')); routes=json.load(open('$TMP/routes.json'))
assert doc['openapi'].startswith('3.')
ops={(m.upper(),p):o for p,item in doc['paths'].items() for m,o in item.items()}
want={(r['method'],r['path']):r for r in routes}
assert set(ops)==set(want), set(ops)^set(want)
for k,r in want.items():
    assert ops[k]['x-tuxtape-roles']==r['roles'], k
    assert ops[k]['operationId'] and ops[k]['responses']
    assert ('security' in ops[k]) == r['public']
    for seg in k[1].split('/'):
        if seg.startswith('{'):
            assert any(p['in']=='path' and p['name']==seg[1:-1] for p in ops[k]['parameters'])
assert len({o['operationId'] for o in ops.values()})==len(ops)"
check "openapi: the JSON schema_version, the same as tuxtape --json --version's" python3 -c "
import json, subprocess
doc=json.load(open('$TMP/body'))
v=json.loads(subprocess.run(['$TUXTAPE', '--json', '--version'], capture_output=True, check=True).stdout)
assert doc['info']['x-tuxtape-schema-version']==v['schema_version']==2, (doc['info'], v)"
expect_exit 0 srv openapi
check "tuxtape-server openapi prints the served document" cmp -s "$TMP/out" "$TMP/body"
check "openapi: a heartbeat's patches are names or {name, sha256}, the digest 64 lowercase hex" python3 -c "
import json, re
doc=json.load(open('$TMP/body'))
body=doc['paths']['/v1/fleet/heartbeat']['post']['requestBody']['content']['application/json']['schema']
items=body['properties']['patches']['items']['oneOf']
assert items[0]['type']=='string', items
obj=items[1]; assert obj['required']==['name', 'sha256'] and obj['additionalProperties'] is False, obj
pat=re.compile(obj['properties']['sha256']['pattern'])
assert pat.match('0'*64) and not pat.match('A'*64) and not pat.match('0'*63) and not pat.match('0'*65)"

# ---- a slow sender loses the connection after --request-timeout ----
check "a body trickled past the request timeout is cut off" python3 - "$PORT" "$TMP/pki/ca.pem" "$TOKEN_agent" <<'PY'
import socket, ssl, sys, time
port, ca, tok = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="127.0.0.1")
s.sendall(("POST /v1/fleet/heartbeat HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n" % tok).encode())
t0 = time.time()
try:
    for _ in range(20):
        s.sendall(b" ")
        time.sleep(0.5)
except OSError:
    pass
s.settimeout(5)
try:
    data = s.recv(100)
except OSError:
    data = b""
elapsed = time.time() - t0
assert not data.startswith(b"HTTP/1.1 200"), data
assert elapsed < 9, elapsed
PY

stop_server "$PID"

# ---- client certificates: machine tokens need one naming them ----
expect_exit 0 srv token create --role agent node2
TOKEN_node2=$(cat "$TMP/out")
start_server "$TMP/server2.log" --db "$DB" --tls-client-ca "$TMP/pki/ca.pem"
api /v1/fleet/heartbeat -H "$(as agent)" -H 'Content-Type: application/json' --data '{"kernel":"6.1"}' \
    --cert "$TMP/pki/node1.pem" --key "$TMP/pki/node1.key"
expect_status 200 "an agent token with its own certificate"
api /v1/fleet/heartbeat -H "$(as agent)" -H 'Content-Type: application/json' --data '{"kernel":"6.1"}'
expect_status 401 "an agent token without a certificate"
api /v1/fleet/heartbeat -H "$(as agent)" -H 'Content-Type: application/json' --data '{"kernel":"6.1"}' \
    --cert "$TMP/pki/node2.pem" --key "$TMP/pki/node2.key"
expect_status 401 "an agent token with another node's certificate"
api /v1/cves -H "$(as viewer)"
expect_status 200 "people need no certificate"
stop_server "$PID"
check "no errors logged by the servers" sh -c "! grep -qi 'error\|assert\|sanitizer' '$TMP/server.log' '$TMP/server2.log'"

# ---- -v -v: each request logged with its method and whole path ----
start_server "$TMP/server3.log" --db "$DB" -v -v
api /v1/fleet/nodes/node1 -H "$(as viewer)"
expect_status 200 "a node, with every request logged"
api '/v1/cves/CVE-2024-1001/exposure?exposure=exposed' -H "$(as viewer)"
api /v1/fleet/heartbeat -X POST -H "$(as agent)" -H 'Content-Type: application/json' --data '{"kernel":"6.1"}'
api /v1/no/such/path%0aforged -H "$(as viewer)"
expect_status 404 "a path with an encoded newline"
stop_server "$PID"
check "the debug log names GET and the whole path" grep -qE ' GET /v1/fleet/nodes/node1 200 [0-9.]+ ms$' "$TMP/server3.log"
check "the exposure's path" grep -qE ' GET /v1/cves/CVE-2024-1001/exposure 200 ' "$TMP/server3.log"
check "POST and its path" grep -qE ' POST /v1/fleet/heartbeat 200 ' "$TMP/server3.log"
check "a decoded newline does not split the line" grep -qE ' GET /v1/no/such/path.forged 404 ' "$TMP/server3.log"
check "no request is logged as /v1 alone" sh -c "! grep -qE ' /v1 [0-9]{3} ' '$TMP/server3.log'"

# ---- a schema newer than this build: both databases refused, named, and left as they were ----
mkdir -p "$TMP/newer"
cp "$DB" "$TMP/newer/t.db"; cp "$TMP/db/server.db" "$TMP/newer/server.db"
sqlite3 "$TMP/newer/server.db" 'PRAGMA user_version = 999'
expect_exit 1 srv --db "$TMP/newer/t.db" token list
err_has "server.db' has server schema version 999, newer than this tuxtape-server knows"
check "the newer server.db is left as it was" [ "$(sqlite3 "$TMP/newer/server.db" 'PRAGMA user_version')" = 999 ]
sqlite3 "$TMP/newer/server.db" "PRAGMA user_version = $(sqlite3 "$TMP/db/server.db" 'PRAGMA user_version')"
sqlite3 "$TMP/newer/t.db" 'PRAGMA user_version = 999'
expect_exit 1 "$TUXTAPE_SERVER" --db "$TMP/newer/t.db" --listen 127.0.0.1:0 --tls-cert "$TMP/pki/server.pem" --tls-key "$TMP/pki/server.key"
err_has "t.db' has schema version 999, newer than this tuxtape knows"
check "the newer CVE database is left as it was" [ "$(sqlite3 "$TMP/newer/t.db" 'PRAGMA user_version')" = 999 ]
printf 'not a database, but long enough to be read as a header by SQLite %.0s' $(seq 20) >"$TMP/newer/bad.db"
expect_exit 1 srv --db "$TMP/newer/t.db" --state "$TMP/newer/bad.db" token list
err_has "bad.db"

finish
