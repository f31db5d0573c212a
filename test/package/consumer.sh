#!/bin/sh
# consumer.sh MESON BUILDROOT — the installed library is usable by a third-party program:
# `meson install --destdir` into a temp dir, then build app.c exactly as a user would,
#   cc app.c $(pkg-config --cflags --libs pgorm)
# (PKG_CONFIG_PATH + PKG_CONFIG_SYSROOT_DIR point pkg-config at the temp install), and run it
# against the server in PGORM_TEST_DSN with only the installed library on its search path.
# CC selects the compiler (default cc); SANFLAGS is added for sanitizer builds.
set -eu
meson=$1 bld=$2
here=$(dirname "$0")
CC=${CC:-cc} SANFLAGS=${SANFLAGS:-}
[ -n "${PGORM_TEST_DSN:-}" ] || { echo "consumer: PGORM_TEST_DSN is not set (scripts/test starts a server)"; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
"$meson" install -C "$bld" --no-rebuild --quiet --destdir "$tmp/root" >"$tmp/install.log" 2>&1 \
	|| { cat "$tmp/install.log"; echo "consumer: meson install failed"; exit 1; }
pc=$(find "$tmp/root" -name pgorm.pc | head -n 1)
[ -n "$pc" ] || { echo "consumer: pgorm.pc was not installed"; exit 1; }
for h in pgorm.h pgorm/exec.h pgorm/version.h; do
	[ -n "$(find "$tmp/root" -path "*/include/$h")" ] || { echo "consumer: $h was not installed"; exit 1; }
done
[ -z "$(find "$tmp/root" -name '*.c' -o -name 'internal.h')" ] || { echo "consumer: private files installed"; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
PKG_CONFIG_SYSROOT_DIR=$tmp/root
export PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR
flags=$(pkg-config --cflags --libs pgorm) || { echo "consumer: pkg-config pgorm failed"; exit 1; }
echo "consumer: pkg-config --cflags --libs pgorm = $flags"
$CC -std=c11 -Wall -Wextra -Werror $SANFLAGS "$here/app.c" -o "$tmp/app" $flags \
	|| { echo "consumer: app.c failed to compile/link against the installed library"; exit 1; }
libdir=$(pkg-config --variable=libdir pgorm)
libdir=$tmp/root${libdir#"$PKG_CONFIG_SYSROOT_DIR"}
[ -e "$libdir/libpgorm.so" ] || { echo "consumer: $libdir/libpgorm.so missing"; exit 1; }
# The build tree's library must not be the one that gets loaded.
LD_LIBRARY_PATH=$libdir "$tmp/app" "$libdir" || { echo "consumer: app failed"; exit 1; }
