#!/bin/sh
# The repository `tuxtape archive` writes, read by both reference TUF clients (python-tuf and
# tuf-js) through the conformance kit's static-repository test: a client initialised with
# root 1 walks a root rotation, fetches a kernel's delegated role and downloads its module.
. "$(dirname "$0")/../cli/lib.sh"
. "$(dirname "$0")/../cli/archive-lib.sh"

kit=
for d in "${TUXTAPE_SHARED:-}" "$SRCDIR/../shared"; do
    if [ -n "$d" ] && [ -x "$d/tuf/run-conformance.sh" ]; then kit="$d/tuf"; break; fi
done
[ -n "$kit" ] || { echo "SKIP: ../shared/tuf (the TUF conformance kit) not found"; exit 77; }

K=6.1.0-18-amd64
A="$TMP/arch"
mk_ko "$TMP/livepatch-cve-2024-1234.ko" livepatch_cve_2024_1234 "$K"
mk_ko "$TMP/livepatch-other.ko" livepatch_other 6.1.0-21-amd64
"$TUXTAPE" -q archive init "$A" --root-key-dir "$TMP/rootkeys" --root-keys 2 --root-threshold 2
"$TUXTAPE" -q archive add "$A" "$TMP/livepatch-cve-2024-1234.ko" --kernel "$K" --cve CVE-2024-1234 \
    --approved-by ci >/dev/null
"$TUXTAPE" -q archive add "$A" "$TMP/livepatch-other.ko" --kernel 6.1.0-21-amd64 >/dev/null
"$TUXTAPE" -q archive publish "$A"
# root 1 -> 2 (new root keys, signed by old and new) -> 3 (a new timestamp key), and the kernels key
"$TUXTAPE" -q archive rotate-key "$A" --role root --root-key-dir "$TMP/rootkeys"
"$TUXTAPE" -q archive rotate-key "$A" --role timestamp --root-key-dir "$TMP/rootkeys"
"$TUXTAPE" -q archive rotate-key "$A" --role kernels
"$TUXTAPE" -q archive timestamp "$A"

S="$TMP/static"
mkdir "$S"
cp -r "$A/public/metadata" "$A/public/targets" "$S/"
cp "$S/metadata/1.root.json" "$S/initial_root.json"
echo "$K/livepatch-cve-2024-1234.ko" >"$S/targetpath"
check "root was rotated twice" [ -f "$S/metadata/3.root.json" ]

run_client() { # run_client NAME CLIENT
    echo "== $1"
    rc=0
    TUF_STATIC_REPO="$S" "$kit/run-conformance.sh" "$2" -k projectrepo >"$TMP/$1.log" 2>&1 || rc=$?
    tail -3 "$TMP/$1.log"
    if [ $rc = 0 ] && grep -q "1 passed" "$TMP/$1.log"; then pass; else
        fail "$1 did not read the archive (exit $rc)"; sed 's/^/    /' "$TMP/$1.log" | tail -40
    fi
}
run_client python-tuf "$kit/clients/python-tuf/client"

# tuf-js needs its npm packages in a writable copy, kept in the build folder between runs.
command -v node >/dev/null && command -v npm >/dev/null ||
    { fail "node and npm are needed for the tuf-js client"; finish; exit 1; }
js="${BUILDDIR:-$TMP}/tuf-js-client"
if [ ! -d "$js/node_modules/tuf-js" ]; then
    rm -rf "$js"; mkdir -p "$js"
    cp -r "$kit/clients/tuf-js/." "$js/"
    chmod -R u+w "$js"
    (cd "$js" && npm install --no-audit --no-fund --loglevel=error) >"$TMP/npm.log" 2>&1 ||
        { fail "npm install of tuf-js failed"; cat "$TMP/npm.log"; finish; exit 1; }
fi
run_client tuf-js "$js/client"

finish
