#!/usr/bin/env bash
# test/tools/test_gen.sh BUILD_ROOT SOURCE_ROOT — pgorm-gen and pgorm-gen diff against the server
# of PGORM_TEST_DSN (meson test `gen`, suite tools):
#  1. generate from test/tools/gen_schema.sql (every mapped type, every relationship shape),
#     twice (byte-identical), compile with -Wall -Wextra -Wpedantic -Werror, then
#     pgorm_registry_check finds no difference and CRUD + a selectin load work (gen_check.c);
#  2. an unmappable type is reported (exit 1, nothing written) or left out with --skip-unmapped;
#  3. diff: the generated models built as a shared object; on the generated schema 0 changes;
#     applied to an older schema (old_schema.sql, with rows) the check then finds no difference
#     and a second diff 0 changes; destructive changes (old_destructive.sql) are comments until
#     --destructive.
# CC and CFLAGS_EXTRA (sanitizer flags of the build) come from meson.
set -euo pipefail
build=$1 src=$2
: "${PGORM_TEST_DSN:?PGORM_TEST_DSN is not set: this test needs a real PostgreSQL}"
dsn=$PGORM_TEST_DSN
cc=${CC:-cc}
read -r -a extra <<<"${CFLAGS_EXTRA:-}"
gen=$build/tools/pgorm-gen
work=$(mktemp -d /tmp/pgorm-gen-test.XXXXXX)
s=gen_t_$$
trap 'psql "$dsn" -qX -c "DROP SCHEMA IF EXISTS ${s}_a, ${s}_b, ${s}_c, ${s}_d, ${s}_e CASCADE" >/dev/null 2>&1; rm -rf "$work"' EXIT
sql() { PGOPTIONS="-c search_path=$1 -c client_min_messages=warning" psql "$dsn" -qX -v ON_ERROR_STOP=1 "${@:2}"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ccflags=(-std=c11 -Wall -Wextra -Wpedantic -Werror "${extra[@]}" -I"$src/include" -I"$build/include" -I"$work")
ldflags=(-L"$build" -lpgorm -Wl,-rpath,"$build")

psql "$dsn" -qX -v ON_ERROR_STOP=1 -c "CREATE SCHEMA ${s}_a; CREATE SCHEMA ${s}_b; CREATE SCHEMA ${s}_c; CREATE SCHEMA ${s}_e"
sql "${s}_a" -f "$src/test/tools/gen_schema.sql"

echo "== 1. generate, compile, check, CRUD"
"$gen" -o "$work/shop" --prefix shop "$dsn" "${s}_a"
cp "$work/shop.c" "$work/first.c"
cp "$work/shop.h" "$work/first.h"
"$gen" -o "$work/shop" --prefix shop "$dsn" "${s}_a" 2>/dev/null
cmp "$work/shop.c" "$work/first.c" && cmp "$work/shop.h" "$work/first.h" || fail "two runs differ"
grep -q 'PGORM_M2M("tags", Orders' "$work/shop.c" || fail "no many-to-many through order_tags"
grep -q 'PGORM_O2O("accounts", Customers' "$work/shop.c" || fail "no one-to-one"
grep -q 'PGORM_M2O("parent", Categories, parent, &categories_model' "$work/shop.c" || fail "no self-reference"
"$cc" "${ccflags[@]}" -c "$work/shop.c" -o "$work/shop.o"
"$cc" "${ccflags[@]}" -o "$work/gen_check" "$src/test/tools/gen_check.c" "$work/shop.o" "${ldflags[@]}"
"$work/gen_check" "$dsn" "${s}_a" check
"$work/gen_check" "$dsn" "${s}_a" crud
# --qualify: the models name the schema (PGORM_MODEL_IN)
"$gen" --qualify -o "$work/qual" "$dsn" "${s}_a" 2>/dev/null
grep -q "PGORM_MODEL_IN(\"${s}_a\", \"orders\", Orders" "$work/qual.c" || fail "--qualify: no PGORM_MODEL_IN"
"$cc" "${ccflags[@]}" -c "$work/qual.c" -o "$work/qual.o"

echo "== 2. unmappable types"
sql "${s}_e" -c "CREATE TABLE points (id int8 PRIMARY KEY, at point NOT NULL, name text); CREATE TABLE nokey (x int4)"
set +e
out=$("$gen" -o "$work/bad" "$dsn" "${s}_e" 2>&1); rc=$?
set -e
echo "$out"
[ $rc -eq 1 ] || fail "unmappable type: exit $rc, expected 1"
grep -q 'points.at: type point has no pgorm type' <<<"$out" || fail "point column not reported"
grep -q 'nokey: no primary key' <<<"$out" || fail "table without key not reported"
[ ! -e "$work/bad.c" ] || fail "files written despite the problems"
"$gen" --skip-unmapped -o "$work/bad" "$dsn" "${s}_e"
grep -q 'left out: points.at: type point' "$work/bad.c" || fail "left-out column not listed in the file"
"$cc" "${ccflags[@]}" -c "$work/bad.c" -o "$work/bad.o"

echo "== 3. diff"
"$cc" "${ccflags[@]}" -shared -fPIC -o "$work/libshop.so" "$work/shop.c" "${ldflags[@]}"
"$gen" diff --models "$work/libshop.so:shop_models" "$dsn" "${s}_a" >"$work/a.sql" 2>"$work/a.err"
cat "$work/a.err"
grep -q '^pgorm-gen diff: 0 changes$' "$work/a.err" || fail "the generated schema differs from its models"
sql "${s}_b" -f "$src/test/tools/old_schema.sql"
"$gen" diff --models "$work/libshop.so:shop_models" "$dsn" "${s}_b" >"$work/b.sql"
cat "$work/b.sql"
grep -q '^-- destructive: ALTER TABLE "customers" DROP COLUMN "legacy";$' "$work/b.sql" || fail "legacy column drop not a comment"
sql "${s}_b" -f "$work/b.sql"
"$work/gen_check" "$dsn" "${s}_b" check
"$gen" diff --models "$work/libshop.so:shop_models" "$dsn" "${s}_b" 2>&1 >/dev/null | grep -q '^pgorm-gen diff: 1 change$' \
	|| fail "a second diff should leave only the legacy drop"
# a schema that does not exist yet: created whole, in FK order
"$gen" diff --models "$work/libshop.so:shop_models" "$dsn" "${s}_d" >"$work/d.sql"
grep -q '^-- by hand: ALTER TABLE "customers" ALTER COLUMN "active" SET DEFAULT' "$work/d.sql" || fail "no note on active"
sql "${s}_d" -f "$work/d.sql"
sql "${s}_d" -c 'ALTER TABLE customers ALTER COLUMN active SET DEFAULT true'
"$work/gen_check" "$dsn" "${s}_d" check
"$work/gen_check" "$dsn" "${s}_d" crud
# destructive changes: comments, unless --destructive
sql "${s}_c" -f "$src/test/tools/old_destructive.sql"
sql "${s}_c" -c "INSERT INTO customers (name, medium, extra) VALUES ('x', '42', 1)"
"$gen" diff --models "$work/libshop.so:shop_models" "$dsn" "${s}_c" >"$work/c.sql"
cat "$work/c.sql"
grep -q '^-- destructive: ALTER TABLE "customers" ALTER COLUMN "medium" TYPE integer USING "medium"::integer;$' "$work/c.sql" \
	|| fail "type change not a comment"
grep -q '^-- destructive: ALTER TABLE "customers" DROP COLUMN "extra";$' "$work/c.sql" || fail "drop not a comment"
sql "${s}_c" -f "$work/c.sql"
if "$work/gen_check" "$dsn" "${s}_c" check >/dev/null; then fail "destructive changes were applied"; fi
"$gen" diff --destructive --models "$work/libshop.so:shop_models" "$dsn" "${s}_c" >"$work/c2.sql"
grep -q '^-- destructive' "$work/c2.sql" && fail "--destructive still comments"
sql "${s}_c" -f "$work/c2.sql"
"$work/gen_check" "$dsn" "${s}_c" check
[ "$(sql "${s}_c" -tAc "SELECT medium FROM customers")" = 42 ] || fail "medium not converted"
echo "gen: ok"
