#!/bin/sh
# Runs every libFuzzer target of fuzz/meson.build over a copy of its seed corpus
# (fuzz/corpus/NAME/) for a bounded time, as the CI's fuzz stage does. Exits 1 when a target
# crashes (a sanitizer finding, an abort() of a check, a leak, a timeout) or is missing.
#
# usage: fuzz/run-all.sh BUILDDIR [SECONDS [TARGET...]]
#   BUILDDIR  a build configured with -Dfuzz=true (fuzz/README.md)
#   SECONDS   per target (default 15)
#   TARGET    only these (NAME of fuzz-NAME); default: every one
# Crash inputs are kept in $FUZZ_OUT (default BUILDDIR/fuzz-out): replay one with
# BUILDDIR/fuzz/fuzz-NAME FUZZ_OUT/NAME-crash-<sha1>.
set -u
here=$(cd "$(dirname "$0")" && pwd)
[ $# -ge 1 ] || { echo "usage: $0 BUILDDIR [SECONDS [TARGET...]]" >&2; exit 2; }
build=$(cd "$1" && pwd) || exit 2
secs=${2:-15}
shift
[ $# -ge 1 ] && shift
out=${FUZZ_OUT:-$build/fuzz-out}
mkdir -p "$out"

# The targets, as fuzz/meson.build lists them: a target it names and the build lacks fails.
targets=$(sed -n "/^fuzz_targets = \[/,/^\]/s/^ *'\([a-z0-9-]*\)',*$/\1/p" "$here/meson.build")
[ $# -ge 1 ] && targets=$*
[ -n "$targets" ] || { echo "run-all: no targets in $here/meson.build" >&2; exit 2; }

# Every finding stops the target; leaks count (LSan runs at exit).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=""
printf '%-24s %10s %8s  %s\n' target runs seconds result
for t in $targets; do
    bin=$build/fuzz/fuzz-$t
    if [ ! -x "$bin" ]; then
        printf '%-24s %10s %8s  %s\n' "$t" - - "missing: $bin"
        failed="$failed $t"
        continue
    fi
    work=$(mktemp -d)
    mkdir "$work/corpus"
    # A copy: the inputs libFuzzer adds stay out of the tree.
    [ -d "$here/corpus/$t" ] && cp -R "$here/corpus/$t/." "$work/corpus/"
    set -- -max_total_time="$secs" -timeout=25 -rss_limit_mb=2560 -print_final_stats=1 \
        -artifact_prefix="$out/$t-"
    [ -f "$here/fuzz-$t.dict" ] && set -- "$@" -dict="$here/fuzz-$t.dict"
    start=$(date +%s)
    (cd "$work" && "$bin" "$@" corpus) > "$work/log" 2>&1
    rc=$?
    end=$(date +%s)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        result=ok
    else
        result="FAILED (exit $rc; log: $out/$t.log)"
        cp "$work/log" "$out/$t.log"
        failed="$failed $t"
        # The finding, for a CI log that shows only this script's output.
        { grep -m 1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' \
              "$work/log"
          grep -m 1 -E '#[0-9]+ 0x[0-9a-f]+ in .*/(src|fuzz)/' "$work/log"; } | sed 's/^/    /'
    fi
    printf '%-24s %10s %8s  %s\n' "$t" "${runs:-?}" "$((end - start))" "$result"
    rm -rf "$work"
done
if [ -n "$failed" ]; then
    echo "run-all: failed:$failed" >&2
    exit 1
fi
