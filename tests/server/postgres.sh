#!/bin/sh
# Every SQL statement of the server's logic prepares on a real PostgreSQL (a private server in
# the test's directory, on a Unix socket only) against the state schema written for it
# (postgres-schema.sql): PostgreSQL parses each, resolves its tables, columns and parameter
# types, or the test names the file and line. A statement only SQLite takes, planted in a copy
# of a real file, must fail it. Skips (77) without PostgreSQL's server programs.
set -eu
: "${SRCDIR:?SRCDIR must name the source tree}"
T="$SRCDIR/tests/server"
INITDB=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1)
[ -n "$INITDB" ] || { echo "SKIP: PostgreSQL's initdb is not installed"; exit 77; }
BIN=$(dirname "$INITDB")
for tool in psql python3; do
    command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed"; exit 77; }
done
# initdb refuses to run as root: the server then runs as the postgres account.
AS=""
if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "SKIP: running as root without a postgres account"; exit 77; }
    AS="runuser -u postgres --"
fi
TMP=$(mktemp -d /tmp/tuxtape-pg.XXXXXX)
chmod 755 "$TMP"
[ -z "$AS" ] || chown postgres "$TMP"
stop() { $AS "$BIN/pg_ctl" -D "$TMP/data" -m immediate stop >/dev/null 2>&1 || :; rm -rf "$TMP"; }
trap stop EXIT
failures=0
passes=0

$AS "$INITDB" -D "$TMP/data" -A trust -U tt >"$TMP/initdb.log" 2>&1 || { cat "$TMP/initdb.log"; exit 1; }
$AS "$BIN/pg_ctl" -D "$TMP/data" -w -l "$TMP/data/server.log" \
    -o "-k $TMP -c listen_addresses= -p 5432" start >/dev/null || { cat "$TMP/data/server.log"; exit 1; }
P="psql -h $TMP -p 5432 -U tt -d postgres -X -q"

want=$(sed -n 's/^-- mirrors-migrations: //p' "$T/postgres-schema.sql")
have=$(python3 -c 'import re,sys; t=open(sys.argv[1]).read(); t=t[t.index("srv_schema_migrations[] = {"):]
print(len(re.findall(r"/\*\s*\n?\s*\*?\s*\d+:", t)))' "$SRCDIR/src/lib/server/schema.c")
if [ "$want" != "$have" ]; then
    echo "FAIL: schema.c has $have migrations, postgres-schema.sql mirrors $want: bring it up to date"
    exit 1
fi
$P -v ON_ERROR_STOP=1 -f "$T/postgres-schema.sql" >/dev/null 2>"$TMP/err" || { cat "$TMP/err"; exit 1; }

# prepare FILE... : every SELECT/INSERT/UPDATE/DELETE in the files' string literals (macros of
# string literals expanded), ?N as $N; prints "FILE:LINE: error" for each one refused
cat >"$TMP/extract.py" <<'PY'
import re, sys
STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
n = 0
for path in sys.argv[1:]:
    text = open(path).read()
    code = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    macros = {m.group(1): "".join(STRING.findall(m.group(2))) for m in re.finditer(
        r'#define\s+(\w+)\s+(?:\\\n\s*)?((?:"(?:[^"\\\n]|\\.)*"\s*(?:\\\n\s*)?)+)', code)}
    names = "|".join(map(re.escape, macros)) or "NO_MACRO"
    for m in re.finditer(r'(?:(?:"(?:[^"\\\n]|\\.)*"|\b(?:%s)\b)\s*)+' % names, code):
        sql = "".join(k.group(1) if k.group(1) is not None else macros[k.group(2)] for k in
                      re.finditer(r'"((?:[^"\\\n]|\\.)*)"|\b(%s)\b' % names, m.group(0)))
        # a statement, not a word such as the HTTP method "DELETE"
        if not re.match(r"\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\s+\S", sql):
            continue
        line = code.count("\n", 0, m.start()) + 1
        n += 1
        print(f"\\echo == {path}:{line}")
        sql = re.sub(r"[?](\d+)", r"$\1", sql)
        print(f"PREPARE s{n} AS {sql};")
        print(f"DEALLOCATE s{n};")
print(f"\\echo == {n} statements")
PY
prepare() {
    python3 "$TMP/extract.py" "$@" >"$TMP/stmts.sql" || { echo "cannot read the statements"; return 2; }
    $P -f "$TMP/stmts.sql" >"$TMP/out" 2>&1 || :
    python3 - "$TMP/out" <<'PY'
import sys
where, bad = None, 0
for line in open(sys.argv[1]):
    if line.startswith("== "):
        where = line[3:].strip()
    elif "ERROR:" in line and "prepared statement \"s" not in line:
        print(f"{where}: {line.split('ERROR:', 1)[1].strip()}"); bad += 1
sys.exit(1 if bad else 0)
PY
}

FILES=$(ls "$SRCDIR"/src/lib/server/*.c | grep -v -e '/server/state\.c$' -e '/server/schema\.c$')
# shellcheck disable=SC2086
if prepare $FILES >"$TMP/found"; then
    passes=$((passes + 1))
    tail -1 "$TMP/out" | sed 's/^== /prepared on PostgreSQL: /'
else
    echo "FAIL: statements PostgreSQL refuses:"; cat "$TMP/found"
    failures=$((failures + 1))
fi
[ "$(sed -n 's/^== \([0-9]*\) statements$/\1/p' "$TMP/out")" -ge 40 ] && passes=$((passes + 1)) ||
    { echo "FAIL: fewer statements found than the server has"; failures=$((failures + 1)); }

# plant WHAT SQL : a copy of workflow.c with the statement added must fail
plant() {
    cp "$SRCDIR/src/lib/server/workflow.c" "$TMP/planted.c"
    printf 'static const char *planted = "%s";\n' "$2" >>"$TMP/planted.c"
    line=$(wc -l <"$TMP/planted.c")
    if prepare "$TMP/planted.c" >"$TMP/found"; then
        echo "FAIL: PostgreSQL took the planted $1"; failures=$((failures + 1))
    elif ! grep -q "planted.c:$line:" "$TMP/found" || grep -v -q "planted.c:$line:" "$TMP/found"; then
        echo "FAIL: other statements than the planted $1 refused:"; cat "$TMP/found"
        failures=$((failures + 1))
    else
        passes=$((passes + 1))
    fi
}
plant "parameter of no type" "SELECT id FROM job WHERE ?1 IS NULL OR state = ?1"
plant "ambiguous upsert column" "INSERT INTO node(name, state, first_seen, last_seen) VALUES (?1, 'ok', ?2, ?2) ON CONFLICT(name) DO UPDATE SET heartbeats = heartbeats + 1"
plant "IS NOT with a value" "SELECT count(*) FROM job WHERE build IS NOT 'written'"
plant "INSERT OR IGNORE" "INSERT OR IGNORE INTO builder(name) VALUES (?1)"
plant "unknown column" "SELECT no_such_column FROM job"

echo "$passes passed, $failures failed"
[ "$failures" = 0 ]
