#!/bin/sh
# SQLAlchemy's own behaviour for the detached-object cases that test/integration/test_detached.c
# mirrors (issue 14): runs the scripts with the system python (python3-sqlalchemy 1.4.46,
# Session(future=True)) and compares what they print (statements, rows, exceptions) with
# expected.txt. A change here means the reference moved; the C test must follow it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
cd "$here"
for t in t1 t2 t3 t4; do
	echo "### $t"
	PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -u "$t.py"  # unbuffered: warnings stay in place
done 2>&1 | sed -E -e 's/0x[0-9a-f]+/0x…/g' -e "s|$here/||g" >"$out"  # no checkout path in warnings
if [ "${PGORM_DETACHED_UPDATE:-0}" = 1 ]; then
	cp "$out" expected.txt
	exit 0
fi
diff -u expected.txt "$out"
