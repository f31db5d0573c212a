#!/bin/sh
# headers.sh SRCROOT BUILDROOT LIBDIR — the public headers build on their own:
#  - include/pgorm.h and each header it includes, alone, as C11 under
#    -std=c11 -pedantic -Werror -Wall -Wextra (and -Wstrict-prototypes -Wshadow);
#  - pgorm.h as C++11 (g++ -std=c++11 -pedantic -Werror -Wall -Wextra), linked against the
#    library to prove the declarations have C linkage.
# CC / CXX select the compilers (default cc / g++); g++ is installed by scripts/deps.
# SANFLAGS (e.g. -fsanitize=address,undefined) is added when the library was built with them.
set -eu
src=$1 bld=$2 libdir=$3
CC=${CC:-cc} CXX=${CXX:-g++} SANFLAGS=${SANFLAGS:-}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
inc="-I$src/include -I$bld/include"
cflags="-std=c11 -pedantic -Werror -Wall -Wextra -Wstrict-prototypes -Wshadow -Wundef"
n=0
for h in pgorm.h $(sed -n 's/^#include "\(pgorm\/[a-z_]*\.h\)".*/\1/p' "$src/include/pgorm.h"); do
	printf '#include <%s>\n#include <%s>\nint main(void) { return 0; }\n' "$h" "$h" >"$tmp/t.c"
	$CC $cflags $inc -c "$tmp/t.c" -o "$tmp/t.o" || { echo "headers: $h does not compile alone as C11"; exit 1; }
	n=$((n + 1))
done
echo "headers: $n headers compile alone (twice, include guards) as C11 -pedantic -Werror"
command -v "$CXX" >/dev/null || { echo "headers: $CXX not found: run scripts/deps (build-essential)"; exit 1; }
cat >"$tmp/t.cpp" <<'CPP'
#include <pgorm.h>
#include <cstring>
int main()
{
	const char *v = pgorm_version_string();
	return v != nullptr && std::strlen(pgorm_strerror(PGORM_ENOMEM)) > 0 ? 0 : 1;
}
CPP
$CXX -std=c++11 -pedantic -Werror -Wall -Wextra $SANFLAGS $inc "$tmp/t.cpp" -o "$tmp/t" -L"$libdir" -lpgorm \
	|| { echo "headers: pgorm.h does not build as C++11"; exit 1; }
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$tmp/t" \
	|| { echo "headers: C++ program failed to run"; exit 1; }
echo "headers: pgorm.h builds, links and runs as C++11"
