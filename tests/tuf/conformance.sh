#!/bin/sh
# Runs the TUF conformance suite (../shared/tuf beside the source tree) against tuxtape-agent.
# usage: conformance.sh SOURCE_ROOT TUXTAPE_AGENT [PYTEST ARGS...]; exit 77 (skip) without it.
set -eu
src=$1 agent=$2
shift 2
kit=$(cd "$src/.." && pwd)/shared/tuf
if [ ! -x "$kit/run-conformance.sh" ]; then
	echo "skip: no TUF conformance kit at $kit (../shared/tuf from the source root)"
	exit 77
fi
for p in python3-pytest python3-requests python3-cryptography faketime; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		echo "skip: Debian package $p is missing (scripts/setup installs it)"
		exit 77
	fi
done
TUXTAPE_AGENT=$agent exec "$kit/run-conformance.sh" "$src/tests/tuf/client-wrapper" "$@"
