#!/bin/sh
# The server's logic keeps the storage behind state.c and the library's store layer: no SQLite
# call or header outside them, and no SQL that only SQLite runs (docs/server.md, "Storage").
# The checker is first shown each construct planted in a copy of a real file, and must flag it.
set -eu
: "${SRCDIR:?SRCDIR must name the source tree}"
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
TMP=$(mktemp -d /tmp/tuxtape-portable.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
failures=0
passes=0

# check FILE... : prints "FILE:LINE: what" for each SQLite-only construct; exit 1 if any
cat >"$TMP/check.py" <<'PY'
import re, sys

# C identifiers and headers of the SQLite API.
CODE = [
    (re.compile(r"\b(sqlite3_?\w*|SQLITE_\w+)"), "an SQLite API identifier"),
    (re.compile(r"#\s*include\s*[<\"]sqlite3\.h[>\"]"), "the SQLite header"),
    (re.compile(r"\b\w*last_insert_(id|rowid)\b"), "the last insert's rowid (use INSERT ... RETURNING id)"),
]
# SQL (in string literals) that PostgreSQL does not run as SQLite does.
SQL = [
    (r"\bINSERT\s+OR\s+(IGNORE|REPLACE|ABORT|FAIL|ROLLBACK)\b", "INSERT OR ... (use ON CONFLICT ... DO)"),
    (r"\bREPLACE\s+INTO\b", "REPLACE INTO (use ON CONFLICT ... DO UPDATE)"),
    (r"\b(json_each|json_tree|json_extract|json_array_length|json_group_array|json_group_object|json_set|json_insert|json_remove|json_patch|json_valid|json_type)\s*\(", "an SQLite JSON function"),
    (r"\b(strftime|datetime|julianday|unixepoch|date|time)\s*\(", "an SQLite date function"),
    (r"\b(ifnull|iif|instr|printf|format|group_concat|total|typeof|randomblob|zeroblob|hex|unhex|changes|total_changes|last_insert_rowid|sqlite_version|likelihood|unlikely|glob)\s*\(", "an SQLite-only function"),
    (r"\bGLOB\b", "GLOB"),
    (r"\bIS\s+(NOT\s+)?'", "IS [NOT] with a value (use = or IS [NOT] DISTINCT FROM)"),
    (r"\bsum\s*\((?![^()]*\bCASE\b)[^()]*(=|<|>|\bIN\b|\bIS\b)", "a boolean summed as a number (use CASE WHEN ... THEN 1 ELSE 0 END)"),
    (r"\b_?rowid_?\b|\boid\b", "the rowid"),
    (r"\bWITHOUT\s+ROWID\b|\bAUTOINCREMENT\b|\bPRAGMA\b|\bsqlite_(master|schema|sequence)\b", "SQLite-only DDL or metadata"),
    (r"\bBEGIN\s+(IMMEDIATE|EXCLUSIVE|DEFERRED)\b", "an SQLite transaction mode"),
    (r"(?<![?\w])\?(?!\d)", "a bare ? placeholder (number them: ?1, ?2)"),
]
SQL = [(re.compile(p, re.I), w) for p, w in SQL]
STRING = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
# SQL is told from other strings by its keywords.
IS_SQL = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|REPLACE|BEGIN|PRAGMA)\b")

bad = 0
for path in sys.argv[1:]:
    text = open(path, encoding="utf-8", errors="replace").read()
    # Comments out (they may name SQLite), line numbers kept.
    code = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    code = re.sub(r"//[^\n]*", "", code)
    for n, line in enumerate(code.split("\n"), 1):
        for rx, what in CODE:
            m = rx.search(STRING.sub('""', line))
            if m:
                print(f"{path}:{n}: {what}: {m.group(0)}"); bad += 1
    # A statement's string literals, joined across lines, with the line it starts on.
    for m in re.finditer(r'(?:"(?:[^"\\\n]|\\.)*"\s*)+', code):
        sql = "".join(STRING.findall(m.group(0)))
        if not IS_SQL.search(sql):
            continue
        n = code.count("\n", 0, m.start()) + 1
        for rx, what in SQL:
            k = rx.search(sql)
            if k:
                print(f"{path}:{n}: {what}: {k.group(0)}"); bad += 1
sys.exit(1 if bad else 0)
PY

# The server's logic: every file of src/lib/server and src/server but the one that talks to the
# engine (state.c) and the schema that a second backend replaces as a whole (schema.c).
FILES=$(ls "$SRCDIR"/src/lib/server/*.c "$SRCDIR"/src/lib/server/*.h "$SRCDIR"/src/server/*.c |
    grep -v -e '/server/state\.c$' -e '/server/schema\.c$')

if python3 "$TMP/check.py" $FILES >"$TMP/found"; then
    passes=$((passes + 1))
else
    echo "FAIL: SQLite-only constructs in the server's logic:"; cat "$TMP/found"
    failures=$((failures + 1))
fi

# plant WHAT LINE : a copy of workflow.c with LINE added must be flagged
plant() {
    cp "$SRCDIR/src/lib/server/workflow.c" "$TMP/planted.c"
    printf '%s\n' "$2" >>"$TMP/planted.c"
    if python3 "$TMP/check.py" "$TMP/planted.c" >"$TMP/found"; then
        echo "FAIL: the checker misses $1: $2"; failures=$((failures + 1))
    elif grep -v -q "planted.c:$(wc -l <"$TMP/planted.c"):" "$TMP/found"; then
        echo "FAIL: the checker flags other lines than the planted $1:"; cat "$TMP/found"
        failures=$((failures + 1))
    else
        passes=$((passes + 1))
    fi
}
plant "an SQLite call" 'static int x(void) { return sqlite3_changes(NULL); }'
plant "an SQLite constant" 'static int y = SQLITE_ROW;'
plant "an SQLite statement type" 'static sqlite3_stmt *z;'
plant "the SQLite header" '#include <sqlite3.h>'
plant "the last insert's rowid" 'static long w(struct srv_state *st) { return srv_state_last_insert_id(st); }'
plant "INSERT OR IGNORE" 'static const char *a = "INSERT OR IGNORE INTO node(name) VALUES (?1)";'
plant "INSERT OR REPLACE" 'static const char *b = "INSERT OR REPLACE INTO node(name) VALUES (?1)";'
plant "REPLACE INTO" 'static const char *c = "REPLACE INTO node(name) VALUES (?1)";'
plant "json_each" 'static const char *d = "SELECT id FROM job WHERE kernel IN (SELECT value FROM json_each(?1))";'
plant "strftime" 'static const char *e = "UPDATE job SET finished_at = strftime('"'"'%s'"'"', '"'"'now'"'"')";'
plant "ifnull" 'static const char *f = "SELECT ifnull(person, name) FROM token";'
plant "group_concat" 'static const char *g = "SELECT group_concat(name) FROM token";'
plant "the rowid" 'static const char *h = "SELECT rowid FROM token";'
plant "a PRAGMA" 'static const char *i = "PRAGMA data_version";'
plant "BEGIN IMMEDIATE" 'static const char *j = "BEGIN IMMEDIATE";'
plant "a bare placeholder" 'static const char *k = "SELECT id FROM token WHERE name = ?";'
plant "IS NOT with a value" 'static const char *m = "SELECT count(*) FROM job WHERE build IS NOT '"'"'written'"'"'";'
plant "a boolean summed" 'static const char *n = "SELECT sum(state IN ('"'"'queued'"'"', '"'"'running'"'"')) FROM job";'
plant "GLOB" 'static const char *l = "SELECT id FROM job WHERE kernel GLOB ?1";'
# and what is portable passes
cp "$SRCDIR/src/lib/server/workflow.c" "$TMP/clean.c"
cat >>"$TMP/clean.c" <<'C'
static const char *portable = "INSERT INTO node(name) VALUES (?1) ON CONFLICT (name) DO NOTHING "
			      "RETURNING id";
/* sqlite3_step in a comment, and strftime() in C, are not SQL */
static void t(char *b) { strftime(b, 2, "%s", NULL); printf("? %s", "SELECT"); }
C
if python3 "$TMP/check.py" "$TMP/clean.c" >"$TMP/found"; then passes=$((passes + 1)); else
    echo "FAIL: the checker flags portable code:"; cat "$TMP/found"; failures=$((failures + 1))
fi

echo "$passes passed, $failures failed"
[ "$failures" = 0 ]
