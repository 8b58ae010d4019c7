# Fixtures the shell tests build in their own directories (sourced): a kernel source tree the
# static evaluator reads (a tiny 6.1.40 one, or any release and set of files), a CVE records
# repository in the kernel CNA's layout, and a small linux git repository holding a mainline fix
# and its 6.1 backport. They only write files and
# git commits: every check stays in the test. A failing step returns non-zero, which ends a
# test run under `set -e` (tests/cli/lib.sh) as a failure, never as a skip.
#
# Variables of the fixture_* functions are named fx_*: the functions share the shell with the
# test that sources them.

# fixture_put DIR PATH TEXT: DIR/PATH holds TEXT, a printf format ("\n", "\t"), its
# directories made.
fixture_put() {
    mkdir -p "$(dirname "$1/$2")"
    # shellcheck disable=SC2059 # TEXT is a format on purpose
    printf "$3" >"$1/$2"
}

# fixture_kernel_tree DIR [module]: a 6.1.40 source tree (fixture_kbuild) with net/core/dev.c
# built in. With "module", also drivers/foo.c, built as a module when the config has
# CONFIG_FOO=m.
fixture_kernel_tree() {
    case ${2:-} in
    '') fixture_kbuild "$1" 6.1.40 net/core/dev.c ;;
    module) fixture_kbuild "$1" 6.1.40 net/core/dev.c drivers/foo.c:FOO ;;
    *) echo "fixture_kernel_tree: unknown variant '$2' (module, or nothing)" >&2; return 1 ;;
    esac
}

# fixture_kbuild DIR RELEASE ENTRY...: a kernel source tree of RELEASE (x.y.z) the static
# evaluator reads: the top-level Makefile and Kbuild, the x86 arch directory
# (arch/x86/kernel/setup.c built in) and the Kbuild makefiles on the way to each ENTRY:
#   PATH.c        built in
#   PATH.c:SYM    built when the config sets CONFIG_SYM (y or m)
#   PATH/:SYM     a directory entered only when the config sets CONFIG_SYM
# A makefile names what is always built on one obj-y line, in the order the entries first
# reach it, then one line per CONFIG_ symbol. The .c files are empty; a test that needs text in
# one writes it with fixture_put.
fixture_kbuild() {
    fx_k=$1
    if ! echo "$2" | grep -Eqx '[0-9]+\.[0-9]+\.[0-9]+'; then
        echo "fixture_kbuild: '$2' is not a release x.y.z" >&2
        return 1
    fi
    fx_v=$2
    shift 2
    for fx_e in "$@"; do
        case $fx_e in
        *:*:* | *: | *:*[!A-Z0-9_]*) ;; # a symbol of other characters: refused below
        *.c | *.c:* | ?*/:*) continue ;;
        esac
        echo "fixture_kbuild: '$fx_e' is not PATH.c, PATH.c:SYM or PATH/:SYM" >&2
        return 1
    done
    for fx_e in "$@"; do
        case $fx_e in
        */:*) mkdir -p "$fx_k/${fx_e%:*}" ;;
        *) fixture_put "$fx_k" "${fx_e%:*}" '' ;;
        esac
    done
    # shellcheck disable=SC2016 # $(srctree) and the like are make's, not the shell's
    fixture_put "$fx_k" Makefile "VERSION = ${fx_v%%.*}\nPATCHLEVEL = $(echo "$fx_v" | cut -d. -f2)\nSUBLEVEL = ${fx_v##*.}\n"'core-y :=\ndrivers-y :=\ninclude $(srctree)/arch/$(SRCARCH)/Makefile\nexport ARCH_DRIVERS := $(drivers-y)\n'
    fixture_put "$fx_k" scripts/Makefile.build '# not read\n'
    fixture_put "$fx_k" arch/x86/Makefile 'BITS := 64\n'
    fixture_put "$fx_k" arch/x86/Kbuild 'obj-y += kernel/\n'
    fixture_put "$fx_k" arch/x86/kernel/Makefile 'obj-y += setup.o\n'
    fixture_put "$fx_k" arch/x86/kernel/setup.c ''
    # The makefiles, written at the end: a directory's names its own objects and its
    # subdirectories (one behind a symbol with that symbol), the top one's is Kbuild.
    printf '%s\n' "$@" | awk -v top="$fx_k" '
        { entry[NR] = $0 }
        /\/:/ { d = $0; sub(/\/:.*/, "", d); gate[d] = $0; sub(/.*:/, "", gate[d]) }
        function known(dir) {
            if (!(dir in text)) { dirs[++n] = dir; text[dir] = ""; objs[dir] = "" }
        }
        function add(dir, obj, sym) {
            known(dir)
            if (sym == "") objs[dir] = objs[dir] " " obj
            else text[dir] = text[dir] "obj-$(CONFIG_" sym ") += " obj "\n"
        }
        function enter(dir,   parent, name) {
            if (dir in entered) return
            entered[dir] = 1
            parent = dir; name = dir
            if (!sub(/\/[^\/]*$/, "", parent)) parent = ""
            sub(/.*\//, "", name)
            add(parent, name "/", gate[dir])
            if (parent != "") enter(parent)
        }
        END {
            known("")
            for (i = 1; i <= NR; i++) {
                e = entry[i]; sym = ""
                if (e ~ /:/) { sym = e; sub(/.*:/, "", sym); sub(/:.*/, "", e) }
                if (e ~ /\/$/) { sub(/\/$/, "", e); enter(e); continue }
                dir = e; name = e
                if (!sub(/\/[^\/]*$/, "", dir)) dir = ""
                sub(/.*\//, "", name); sub(/\.c$/, ".o", name)
                add(dir, name, sym)
                if (dir != "") enter(dir)
            }
            for (i = 1; i <= n; i++) {
                d = dirs[i]
                if (d == "") {
                    f = top "/Kbuild"
                    printf "obj-y +=%s arch/$(SRCARCH)/\n%s", objs[d], text[d] > f
                } else {
                    f = top "/" d "/Makefile"
                    if (objs[d] != "") printf "obj-y +=%s\n", objs[d] > f
                    printf "%s", text[d] > f
                }
                close(f)
            }
        }'
}

# fixture_kernel_config FILE [LINE...]: an x86_64 kernel config (CONFIG_X86=y, CONFIG_X86_64=y)
# and each LINE after them, e.g. CONFIG_FOO=m.
fixture_kernel_config() {
    fx_f=$1; shift
    printf 'CONFIG_X86=y\nCONFIG_X86_64=y\n' >"$fx_f"
    for fx_l in "$@"; do
        printf '%s\n' "$fx_l" >>"$fx_f"
    done
}

# fixture_linux_git DIR MAIN [BACKPORT [BODY]]: a linux repository, committing as Kernel Dev
# <dev@example.org>, whose net/core/dev.c (`int dev(void)`) returns 0 in the base commit,
# MAIN in the mainline fix on master ("net: fix dev", then BODY if given) and, given
# BACKPORT, BACKPORT in the 6.1 backport on linux-6.1.y, a branch from the base that is then
# left checked out. Sets BASE, FIX_MAIN and FIX_61 (the backport's commit; empty without
# BACKPORT).
fixture_linux_git() {
    fx_l=$1
    git init -q -b master "$fx_l"
    git -C "$fx_l" config user.email dev@example.org
    git -C "$fx_l" config user.name "Kernel Dev"
    fixture_put "$fx_l" net/core/dev.c 'int dev(void)\n{\n\treturn 0;\n}\n'
    git -C "$fx_l" add -A
    git -C "$fx_l" commit -qm "net: add dev"
    BASE=$(git -C "$fx_l" rev-parse HEAD)
    fixture_put "$fx_l" net/core/dev.c "int dev(void)\n{\n\treturn $2;\n}\n"
    if [ -n "${4:-}" ]; then
        git -C "$fx_l" commit -qa -m "net: fix dev" -m "$4"
    else
        git -C "$fx_l" commit -qam "net: fix dev"
    fi
    FIX_MAIN=$(git -C "$fx_l" rev-parse HEAD)
    FIX_61=
    [ -n "${3:-}" ] || return 0
    git -C "$fx_l" checkout -q -b linux-6.1.y "$BASE"
    fixture_put "$fx_l" net/core/dev.c "int dev(void)\n{\n\treturn $3;\n}\n"
    git -C "$fx_l" commit -qam "net: fix dev (6.1 backport)"
    FIX_61=$(git -C "$fx_l" rev-parse HEAD)
}

# fixture_vulns DIR: an empty CVE records repository (branch master), to fill with
# fixture_cve_record and fixture_vulns_commit.
fixture_vulns() {
    git init -q -b master "$1"
}

# fixture_vulns_commit DIR MESSAGE [DATE]: all of DIR's work tree committed as test
# <t@example.org> (a clone with no identity of its own too), DATE the committer date if given.
fixture_vulns_commit() {
    git -C "$1" add -A
    if [ -n "${3:-}" ]; then
        GIT_COMMITTER_DATE=$3 git -C "$1" -c user.email=t@example.org -c user.name=test \
            commit -qm "$2"
    else
        git -C "$1" -c user.email=t@example.org -c user.name=test commit -qm "$2"
    fi
}

# fixture_cvss [SCORE [SEVERITY]]: prints one CVSS 3.1 metric of a record (vector
# AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H), its baseScore SCORE (7.8) and baseSeverity SEVERITY
# (HIGH) as given: the record states them, whatever the vector computes to.
fixture_cvss() {
    printf '{"cvssV3_1":{"version":"3.1","vectorString":"CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H","baseScore":%s,"baseSeverity":"%s"}}' \
        "${1:-7.8}" "${2:-HIGH}"
}

# fixture_cve_record DIR ID FILES DYAD [METRICS [TITLE DESCRIPTION]]: the kernel CNA's record of
# ID in DIR/cve/published/YEAR/, YEAR the one in ID: ID.json, PUBLISHED, affecting FILES (a
# JSON array of programFiles) from 5.10 on, and ID.dyad, a "# dyad" line then DYAD (printf %b:
# "\n" ends each line). METRICS is what stands inside "metrics": [...]: by default
# $(fixture_cvss), "" for an empty list, "-" for a record without the key. TITLE ("ID title")
# and DESCRIPTION ("bug") go into the JSON as they are: no quotes or backslashes in them.
fixture_cve_record() {
    fx_dir="$1/cve/published/$(echo "$2" | cut -d- -f2)"
    mkdir -p "$fx_dir"
    if [ "${5-x}" = - ]; then
        fx_metrics=''
    else
        fx_metrics=',
 "metrics":['"${5-$(fixture_cvss)}"']'
    fi
    cat >"$fx_dir/$2.json" <<JSON
{"containers":{"cna":{"title":"${6:-$2 title}","descriptions":[{"lang":"en","value":"${7:-bug}"}],
 "affected":[{"product":"Linux","vendor":"Linux","defaultStatus":"affected","programFiles":$3,
   "versions":[{"version":"5.10","status":"affected"}]}]$fx_metrics}},
 "cveMetadata":{"cveId":"$2","state":"PUBLISHED"},"dataType":"CVE_RECORD","dataVersion":"5.1"}
JSON
    printf '# dyad\n%b' "$4" >"$fx_dir/$2.dyad"
}
