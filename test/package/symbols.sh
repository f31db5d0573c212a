#!/bin/sh
# symbols.sh LIB SOVERSION [SANITIZE] — the shared library exports only pgorm_* names
# (nm -D --defined-only), and its SONAME is libpgorm.so.SOVERSION.
# Sanitizer builds (SANITIZE != none) may also export the sanitizers' own __asan/__ubsan names.
set -eu
lib=$1 sover=$2 san=${3:-none}
command -v nm >/dev/null || { echo "symbols: nm not found (binutils; run scripts/deps)"; exit 1; }
names=$(nm -D --defined-only "$lib" | awk 'NF >= 3 { print $3 }')
[ -n "$names" ] || { echo "symbols: no exported symbols in $lib"; exit 1; }
bad=$(printf '%s\n' "$names" | grep -v '^pgorm_' || true)
if [ "$san" != none ]; then
	bad=$(printf '%s\n' "$bad" | grep -Ev '^(__asan|__odr_asan|__ubsan|__sancov|__lsan)' || true)
fi
n=$(printf '%s\n' "$names" | grep -c '^pgorm_' || true)
if [ -n "$bad" ]; then
	echo "symbols: $lib exports names outside the pgorm_ namespace:"
	printf '  %s\n' $bad
	exit 1
fi
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libpgorm.so.$sover" ] || { echo "symbols: SONAME is '$soname', expected libpgorm.so.$sover"; exit 1; }
echo "symbols: $n exported names, all pgorm_*; SONAME $soname"
