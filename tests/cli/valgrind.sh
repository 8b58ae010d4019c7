#!/bin/sh
# Runs another CLI test with every tuxtape invocation under valgrind: any memory error or
# definite leak makes tuxtape exit 99, which the test's exit-status checks then report.
# Usage (from meson): valgrind.sh TEST.sh
set -eu
command -v valgrind >/dev/null || { echo "SKIP: valgrind not installed"; exit 77; }
: "${TUXTAPE:?}"
W=$(mktemp -d /tmp/tuxtape-vg.XXXXXX)
trap 'rm -rf "$W"' EXIT
cat >"$W/tuxtape" <<EOF2
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite --suppressions=$(dirname "$0")/valgrind.supp "$TUXTAPE" "\$@"
EOF2
chmod +x "$W/tuxtape"
TUXTAPE="$W/tuxtape" sh "$(dirname "$0")/$1"
