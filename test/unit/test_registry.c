/* Unit tests (no database): registry validation. Every configuration mistake is PGORM_EMODEL
 * with a message naming the model(s) and the attribute concerned; the tests assert on those
 * fragments. A few valid configurations check what the registry resolves (kinds, partners,
 * generated backrefs). */
#include "pgtest.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ---- structs shared by most models ---- */

typedef struct A {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection kids;
	pgorm_collection kids2;
	void *one;
} A;

typedef struct B {
	pgorm_object hdr;
	int64_t id;
	int64_t a_id;
	int64_t a2_id;
	char *label;
	A *owner;
	A *owner2;
} B;

typedef struct Plain {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection kids;
} Plain;

/* Assert that registry creation fails with PGORM_EMODEL and that the message contains every
 * fragment (NULL-terminated list). */
static void expect_err(const pgorm_model *const *models, size_t n, ...)
{
	pgorm_registry *reg = NULL;
	pgorm_error err;
	memset(&err, 0, sizeof err);
	int rc = pgorm_registry_create(&reg, models, n, &err);
	ck_assert_msg(rc == PGORM_EMODEL, "expected PGORM_EMODEL, got %d (%s)", rc, err.message);
	ck_assert_ptr_null(reg);
	ck_assert_int_eq(err.code, PGORM_EMODEL);
	va_list ap;
	va_start(ap, n);
	for (const char *frag = va_arg(ap, const char *); frag != NULL; frag = va_arg(ap, const char *))
		ck_assert_msg(strstr(err.message, frag) != NULL, "message \"%s\" does not contain \"%s\"", err.message, frag);
	va_end(ap);
}

static pgorm_registry *expect_ok(const pgorm_model *const *models, size_t n)
{
	pgorm_registry *reg = NULL;
	pgorm_error err;
	memset(&err, 0, sizeof err);
	int rc = pgorm_registry_create(&reg, models, n, &err);
	ck_assert_msg(rc == 0, "registry failed: %d %s", rc, err.message);
	ck_assert_ptr_nonnull(reg);
	return reg;
}

/* A child model (table child_t) with one FK to parent_t; used by several cases. */
#define ID_COL(S) PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, S, id)

/* ---- a valid pair: parent_t.kids <-> child_t.owner ---- */
extern const pgorm_model ok_parent, ok_child;
static const pgorm_column ok_parent_cols[] = { ID_COL(A), PGORM_COLUMN(TEXT, "name", 0, A, name), PGORM_COLUMN_END };
static const pgorm_relationship ok_parent_rels[] = {
	PGORM_ONE_TO_MANY("kids", A, kids, &ok_child, NULL, "owner", 0), PGORM_RELATIONSHIP_END };
const pgorm_model ok_parent = PGORM_MODEL("parent_t", A, ok_parent_cols, ok_parent_rels);
static const pgorm_column ok_child_cols[] = {
	ID_COL(B),
	PGORM_COLUMN_FK(INT8, "a_id", PGORM_NULLABLE, B, a_id, "parent_t", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "label", 0, B, label), PGORM_COLUMN_END };
static const pgorm_relationship ok_child_rels[] = {
	PGORM_MANY_TO_ONE("owner", B, owner, &ok_parent, NULL, "kids"), PGORM_RELATIONSHIP_END };
const pgorm_model ok_child = PGORM_MODEL("child_t", B, ok_child_cols, ok_child_rels);

START_TEST(test_valid_pair_resolves)
{
	const pgorm_model *m[] = { &ok_child, &ok_parent };
	pgorm_registry *reg = expect_ok(m, 2);
	const pgorm_rel *kids = pgorm_registry_rel(reg, &ok_parent, "kids");
	const pgorm_rel *owner = pgorm_registry_rel(reg, &ok_child, "owner");
	ck_assert_ptr_nonnull(kids);
	ck_assert_ptr_nonnull(owner);
	ck_assert_int_eq(pgorm_rel_kind_of(kids), PGORM_REL_ONE_TO_MANY);
	ck_assert_int_eq(pgorm_rel_kind_of(owner), PGORM_REL_MANY_TO_ONE);
	ck_assert_ptr_eq(pgorm_rel_partner(kids), owner);
	ck_assert_ptr_eq(pgorm_rel_partner(owner), kids);
	ck_assert_ptr_eq(pgorm_rel_target(kids), &ok_child);
	ck_assert_ptr_null(pgorm_registry_rel(reg, &ok_parent, "nope"));
	pgorm_registry_destroy(reg);
}
END_TEST

/* ---- back_populates to a missing attribute ---- */
extern const pgorm_model bpm_parent, plain_child;
static const pgorm_relationship bpm_parent_rels[] = {
	PGORM_ONE_TO_MANY("kids", A, kids, &plain_child, NULL, "nope", 0), PGORM_RELATIONSHIP_END };
const pgorm_model bpm_parent = PGORM_MODEL("parent_t", A, ok_parent_cols, bpm_parent_rels);
static const pgorm_relationship plain_child_rels[] = { PGORM_RELATIONSHIP_END };
const pgorm_model plain_child = PGORM_MODEL("child_t", B, ok_child_cols, plain_child_rels);

START_TEST(test_back_populates_missing)
{
	const pgorm_model *m[] = { &bpm_parent, &plain_child };
	expect_err(m, 2, "parent_t.kids", "child_t.nope", "does not exist", NULL);
}
END_TEST

/* ---- back_populates pointing back elsewhere: parent_t.kids says owner, child_t.owner says kids2 ---- */
extern const pgorm_model bpe_parent, bpe_child;
static const pgorm_relationship bpe_parent_rels[] = {
	PGORM_ONE_TO_MANY("kids", A, kids, &bpe_child, NULL, "owner", 0),
	PGORM_ONE_TO_MANY("kids2", A, kids2, &bpe_child, NULL, NULL, 0),
	PGORM_RELATIONSHIP_END };
const pgorm_model bpe_parent = PGORM_MODEL("parent_t", A, ok_parent_cols, bpe_parent_rels);
static const pgorm_relationship bpe_child_rels[] = {
	PGORM_MANY_TO_ONE("owner", B, owner, &bpe_parent, NULL, "kids2"), PGORM_RELATIONSHIP_END };
const pgorm_model bpe_child = PGORM_MODEL("child_t", B, ok_child_cols, bpe_child_rels);

START_TEST(test_back_populates_points_elsewhere)
{
	const pgorm_model *m[] = { &bpe_parent, &bpe_child };
	expect_err(m, 2, "parent_t.kids", "child_t.owner", "kids2", NULL);
	/* the same, registered in the other order */
	const pgorm_model *m2[] = { &bpe_child, &bpe_parent };
	expect_err(m2, 2, "parent_t", "child_t.owner", "kids2", NULL);
}
END_TEST

/* back_populates naming a relationship of the target that points at a third model */
extern const pgorm_model bpt_parent, bpt_child, third_t;
static const pgorm_relationship bpt_parent_rels[] = {
	PGORM_ONE_TO_MANY("kids", A, kids, &bpt_child, NULL, "other", 0), PGORM_RELATIONSHIP_END };
const pgorm_model bpt_parent = PGORM_MODEL("parent_t", A, ok_parent_cols, bpt_parent_rels);
static const pgorm_column bpt_child_cols[] = {
	ID_COL(B),
	PGORM_COLUMN_FK(INT8, "a_id", PGORM_NULLABLE, B, a_id, "parent_t", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_FK(INT8, "a2_id", PGORM_NULLABLE, B, a2_id, "third_t", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_END };
static const pgorm_relationship bpt_child_rels[] = {
	PGORM_MANY_TO_ONE("other", B, owner2, &third_t, NULL, NULL), PGORM_RELATIONSHIP_END };
const pgorm_model bpt_child = PGORM_MODEL("child_t", B, bpt_child_cols, bpt_child_rels);
static const pgorm_relationship no_rels[] = { PGORM_RELATIONSHIP_END };
const pgorm_model third_t = PGORM_MODEL("third_t", Plain, ok_parent_cols, no_rels);

START_TEST(test_back_populates_wrong_target)
{
	const pgorm_model *m[] = { &bpt_parent, &bpt_child, &third_t };
	expect_err(m, 3, "parent_t.kids", "child_t.other", "third_t", "not back to parent_t", NULL);
}
END_TEST

/* ---- the seed's case: ParentTable.children backref="parent", ChildModel declares parent ---- */
typedef struct SeedParent {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection children;
} SeedParent;
typedef struct SeedChild {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	char *name;
	SeedParent *parent;
} SeedChild;
extern const pgorm_model seed_parent, seed_child, seed_child_nofield;
static const pgorm_column seed_parent_cols[] = {
	ID_COL(SeedParent), PGORM_COLUMN(TEXT, "name", 0, SeedParent, name), PGORM_COLUMN_END };
static const pgorm_relationship seed_parent_rels[] = {
	PGORM_ONE_TO_MANY_BACKREF("children", SeedParent, children, &seed_child, NULL, "parent", 0),
	PGORM_RELATIONSHIP_END };
const pgorm_model seed_parent = PGORM_MODEL("parent_table", SeedParent, seed_parent_cols, seed_parent_rels);
static const pgorm_column seed_child_cols[] = {
	ID_COL(SeedChild),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, SeedChild, parent_id, "parent_table", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, SeedChild, name), PGORM_COLUMN_END };
static const pgorm_relationship seed_child_rels[] = {
	PGORM_MANY_TO_ONE("parent", SeedChild, parent, &seed_parent, NULL, NULL), PGORM_RELATIONSHIP_END };
const pgorm_model seed_child = PGORM_MODEL("child_table", SeedChild, seed_child_cols, seed_child_rels);

START_TEST(test_backref_collides)
{
	const pgorm_model *m[] = { &seed_parent, &seed_child };
	expect_err(m, 2, "parent_table.children", "backref \"parent\"", "child_table.parent", "collides", NULL);
	const pgorm_model *m2[] = { &seed_child, &seed_parent };
	expect_err(m2, 2, "parent_table.children", "child_table.parent", "collides", NULL);
}
END_TEST

/* backref colliding with a column name */
extern const pgorm_model seed_parent_col;
static const pgorm_relationship seed_parent_col_rels[] = {
	PGORM_ONE_TO_MANY_BACKREF("children", SeedParent, children, &seed_child_nofield, NULL, "name", 0),
	PGORM_RELATIONSHIP_END };
const pgorm_model seed_parent_col = PGORM_MODEL("parent_table", SeedParent, seed_parent_cols, seed_parent_col_rels);
const pgorm_model seed_child_nofield = PGORM_MODEL("child_table", SeedChild, seed_child_cols, no_rels);

START_TEST(test_backref_collides_with_column)
{
	const pgorm_model *m[] = { &seed_parent_col, &seed_child_nofield };
	expect_err(m, 2, "parent_table.children", "child_table.name", "collides", NULL);
}
END_TEST

/* the same backref without the colliding declaration is fine, and the generated side is a
 * many-to-one without a struct field */
extern const pgorm_model seed_parent_ok;
static const pgorm_relationship seed_parent_ok_rels[] = {
	PGORM_ONE_TO_MANY_BACKREF("children", SeedParent, children, &seed_child_nofield, NULL, "parent", 0),
	PGORM_RELATIONSHIP_END };
const pgorm_model seed_parent_ok = PGORM_MODEL("parent_table", SeedParent, seed_parent_cols, seed_parent_ok_rels);

START_TEST(test_backref_generated)
{
	const pgorm_model *m[] = { &seed_parent_ok, &seed_child_nofield };
	pgorm_registry *reg = expect_ok(m, 2);
	const pgorm_rel *children = pgorm_registry_rel(reg, &seed_parent_ok, "children");
	const pgorm_rel *parent = pgorm_registry_rel(reg, &seed_child_nofield, "parent");
	ck_assert_ptr_nonnull(children);
	ck_assert_ptr_nonnull(parent);
	ck_assert_int_eq(pgorm_rel_kind_of(parent), PGORM_REL_MANY_TO_ONE);
	ck_assert_ptr_eq(pgorm_rel_partner(parent), children);
	ck_assert_ptr_eq(pgorm_rel_partner(children), parent);
	ck_assert_str_eq(pgorm_rel_name(parent), "parent");
	pgorm_registry_destroy(reg);
}
END_TEST

/* ---- no FK path ---- */
extern const pgorm_model nofk_parent;
static const pgorm_relationship nofk_parent_rels[] = {
	PGORM_ONE_TO_MANY("kids", A, kids, &third_t, NULL, NULL, 0), PGORM_RELATIONSHIP_END };
const pgorm_model nofk_parent = PGORM_MODEL("parent_t", A, ok_parent_cols, nofk_parent_rels);

START_TEST(test_no_fk_path)
{
	const pgorm_model *m[] = { &nofk_parent, &third_t };
	expect_err(m, 2, "parent_t.kids", "no foreign key path", "parent_t and third_t", NULL);
}
END_TEST

/* an explicit fk_column that is not an FK between the two */
extern const pgorm_model badfk_parent;
static const pgorm_relationship badfk_parent_rels[] = {
	PGORM_ONE_TO_MANY("kids", A, kids, &plain_child, "label", NULL, 0), PGORM_RELATIONSHIP_END };
const pgorm_model badfk_parent = PGORM_MODEL("parent_t", A, ok_parent_cols, badfk_parent_rels);

START_TEST(test_fk_column_not_fk)
{
	const pgorm_model *m[] = { &badfk_parent, &plain_child };
	expect_err(m, 2, "parent_t.kids", "label", "child_t", NULL);
}
END_TEST

/* ---- ambiguous FK paths: child_t has a_id and a2_id, both to parent_t ---- */
static const pgorm_column amb_child_cols[] = {
	ID_COL(B),
	PGORM_COLUMN_FK(INT8, "a_id", PGORM_NULLABLE, B, a_id, "parent_t", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_FK(INT8, "a2_id", PGORM_NULLABLE, B, a2_id, "parent_t", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_END };
extern const pgorm_model amb_parent, amb_child, amb_parent_ok, amb_child_ok;
static const pgorm_relationship amb_parent_rels[] = {
	PGORM_ONE_TO_MANY("kids", A, kids, &amb_child, NULL, NULL, 0), PGORM_RELATIONSHIP_END };
const pgorm_model amb_parent = PGORM_MODEL("parent_t", A, ok_parent_cols, amb_parent_rels);
const pgorm_model amb_child = PGORM_MODEL("child_t", B, amb_child_cols, no_rels);

/* the same with explicit columns: two relationships, each paired */
static const pgorm_relationship amb_parent_ok_rels[] = {
	PGORM_ONE_TO_MANY("kids", A, kids, &amb_child_ok, "a_id", "owner", 0),
	PGORM_ONE_TO_MANY("kids2", A, kids2, &amb_child_ok, "a2_id", "owner2", 0),
	PGORM_RELATIONSHIP_END };
const pgorm_model amb_parent_ok = PGORM_MODEL("parent_t", A, ok_parent_cols, amb_parent_ok_rels);
static const pgorm_relationship amb_child_ok_rels[] = {
	PGORM_MANY_TO_ONE("owner", B, owner, &amb_parent_ok, "a_id", "kids"),
	PGORM_MANY_TO_ONE("owner2", B, owner2, &amb_parent_ok, "a2_id", "kids2"),
	PGORM_RELATIONSHIP_END };
const pgorm_model amb_child_ok = PGORM_MODEL("child_t", B, amb_child_cols, amb_child_ok_rels);

START_TEST(test_ambiguous_fk)
{
	const pgorm_model *m[] = { &amb_parent, &amb_child };
	expect_err(m, 2, "parent_t.kids", "ambiguous", "parent_t and child_t", "a_id", "a2_id", "fk_column", NULL);
	const pgorm_model *ok[] = { &amb_parent_ok, &amb_child_ok };
	pgorm_registry *reg = expect_ok(ok, 2);
	ck_assert_ptr_eq(pgorm_rel_partner(pgorm_registry_rel(reg, &amb_parent_ok, "kids2")),
	                 pgorm_registry_rel(reg, &amb_child_ok, "owner2"));
	pgorm_registry_destroy(reg);
}
END_TEST

/* ---- delete-orphan on a many-to-one without single_parent ---- */
extern const pgorm_model orph_child, orph_child_sp, lone_parent;
static const pgorm_relationship orph_child_rels[] = {
	{ .name = "owner", .target = &lone_parent, .kind = PGORM_REL_MANY_TO_ONE, .offset = offsetof(B, owner),
	  .size = sizeof(A *), .cascade = PGORM_CASCADE_SAVE_UPDATE | PGORM_CASCADE_DELETE_ORPHAN },
	PGORM_RELATIONSHIP_END };
const pgorm_model orph_child = PGORM_MODEL("child_t", B, ok_child_cols, orph_child_rels);
static const pgorm_relationship orph_child_sp_rels[] = {
	{ .name = "owner", .target = &lone_parent, .kind = PGORM_REL_MANY_TO_ONE, .offset = offsetof(B, owner),
	  .size = sizeof(A *), .cascade = PGORM_CASCADE_SAVE_UPDATE | PGORM_CASCADE_DELETE_ORPHAN,
	  .flags = PGORM_REL_SINGLE_PARENT },
	PGORM_RELATIONSHIP_END };
const pgorm_model orph_child_sp = PGORM_MODEL("child_t", B, ok_child_cols, orph_child_sp_rels);
const pgorm_model lone_parent = PGORM_MODEL("parent_t", A, ok_parent_cols, no_rels);

START_TEST(test_delete_orphan_many_to_one)
{
	const pgorm_model *m[] = { &lone_parent, &orph_child };
	expect_err(m, 2, "child_t.owner", "parent_t", "delete-orphan", "PGORM_REL_SINGLE_PARENT", NULL);
	const pgorm_model *ok[] = { &lone_parent, &orph_child_sp };
	pgorm_registry_destroy(expect_ok(ok, 2));
}
END_TEST

/* ---- a collection field that is not a pgorm_collection ---- */
extern const pgorm_model coll_parent, coll_parent_off;
static const pgorm_relationship coll_parent_rels[] = {
	{ .name = "kids", .target = &plain_child, .kind = PGORM_REL_ONE_TO_MANY, .offset = offsetof(A, one),
	  .size = sizeof(void *) },
	PGORM_RELATIONSHIP_END };
const pgorm_model coll_parent = PGORM_MODEL("parent_t", A, ok_parent_cols, coll_parent_rels);
static const pgorm_relationship coll_parent_off_rels[] = {
	{ .name = "kids", .target = &plain_child, .kind = PGORM_REL_ONE_TO_MANY, .offset = sizeof(A) + 64,
	  .size = sizeof(pgorm_collection) },
	PGORM_RELATIONSHIP_END };
const pgorm_model coll_parent_off = PGORM_MODEL("parent_t", A, ok_parent_cols, coll_parent_off_rels);

START_TEST(test_collection_field_wrong_size)
{
	const pgorm_model *m[] = { &coll_parent, &plain_child };
	expect_err(m, 2, "parent_t.kids", "child_t", "pgorm_collection", NULL);
	const pgorm_model *m2[] = { &coll_parent_off, &plain_child };
	expect_err(m2, 2, "parent_t.kids", "child_t", "outside the struct", NULL);
}
END_TEST

/* a one-to-one (scalar) relationship whose field is a collection, not a pointer */
extern const pgorm_model scal_parent;
static const pgorm_relationship scal_parent_rels[] = {
	{ .name = "kid", .target = &plain_child, .kind = PGORM_REL_ONE_TO_MANY, .offset = offsetof(A, kids),
	  .size = sizeof(pgorm_collection), .flags = PGORM_REL_SCALAR },
	PGORM_RELATIONSHIP_END };
const pgorm_model scal_parent = PGORM_MODEL("parent_t", A, ok_parent_cols, scal_parent_rels);

START_TEST(test_scalar_field_wrong_size)
{
	const pgorm_model *m[] = { &scal_parent, &plain_child };
	expect_err(m, 2, "parent_t.kid", "child_t", "pointer", NULL);
}
END_TEST

/* ---- model errors ---- */

static const pgorm_column off_cols[] = {
	ID_COL(A),
	{ .name = "name", .type = PGORM_TYPE_TEXT, .offset = sizeof(A) + 8, .size = sizeof(char *) },
	PGORM_COLUMN_END };
static const pgorm_model off_model = PGORM_MODEL("off_t", A, off_cols, NULL);
static const pgorm_column hdr_overlap_cols[] = {
	ID_COL(A),
	{ .name = "name", .type = PGORM_TYPE_TEXT, .offset = 0, .size = sizeof(char *) },
	PGORM_COLUMN_END };
static const pgorm_model hdr_overlap_model = PGORM_MODEL("ovl_t", A, hdr_overlap_cols, NULL);

START_TEST(test_column_offset_outside)
{
	const pgorm_model *m[] = { &off_model };
	expect_err(m, 1, "off_t", "column name", "outside the struct", NULL);
	const pgorm_model *m2[] = { &hdr_overlap_model };
	expect_err(m2, 1, "ovl_t", "column name", NULL);
}
END_TEST

static const pgorm_column nopk_cols[] = { PGORM_COLUMN(INT8, "id", 0, A, id), PGORM_COLUMN_END };
static const pgorm_model nopk_model = PGORM_MODEL("nopk_t", A, nopk_cols, NULL);

START_TEST(test_missing_pk)
{
	const pgorm_model *m[] = { &nopk_model };
	expect_err(m, 1, "nopk_t", "no primary key", NULL);
}
END_TEST

static const pgorm_column dup_cols[] = {
	ID_COL(A), PGORM_COLUMN(TEXT, "name", 0, A, name), PGORM_COLUMN(TEXT, "name", 0, A, name), PGORM_COLUMN_END };
static const pgorm_model dup_model = PGORM_MODEL("dup_t", A, dup_cols, NULL);

START_TEST(test_duplicate_column)
{
	const pgorm_model *m[] = { &dup_model };
	expect_err(m, 1, "dup_t", "duplicate column name", NULL);
}
END_TEST

static const pgorm_column badtype_cols[] = {
	ID_COL(A),
	{ .name = "name", .type = PGORM_TYPE__COUNT, .offset = offsetof(A, name), .size = sizeof(char *) },
	PGORM_COLUMN_END };
static const pgorm_model badtype_model = PGORM_MODEL("bt_t", A, badtype_cols, NULL);
static const pgorm_column badsize_cols[] = {
	ID_COL(A), { .name = "name", .type = PGORM_TYPE_INT4, .offset = offsetof(A, name), .size = sizeof(char *) },
	PGORM_COLUMN_END };
static const pgorm_model badsize_model = PGORM_MODEL("bs_t", A, badsize_cols, NULL);

START_TEST(test_unsupported_type)
{
	const pgorm_model *m[] = { &badtype_model };
	expect_err(m, 1, "bt_t", "column name", "unsupported", NULL);
	const pgorm_model *m2[] = { &badsize_model };
	expect_err(m2, 1, "bs_t", "column name", "size", NULL);
}
END_TEST

static const pgorm_column fku_cols[] = {
	ID_COL(B), PGORM_COLUMN_FK(INT8, "a_id", PGORM_NULLABLE, B, a_id, "nowhere", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_END };
static const pgorm_model fku_model = PGORM_MODEL("fku_t", B, fku_cols, NULL);

START_TEST(test_fk_unknown_table)
{
	const pgorm_model *m[] = { &fku_model, &lone_parent };
	expect_err(m, 2, "fku_t", "column a_id", "unknown table nowhere", NULL);
}
END_TEST

static const pgorm_column fkn_cols[] = {
	ID_COL(B), PGORM_COLUMN_FK(INT8, "a_id", PGORM_NULLABLE, B, a_id, "parent_t", "name", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_END };
static const pgorm_model fkn_model = PGORM_MODEL("fkn_t", B, fkn_cols, NULL);
static const pgorm_column fkm_cols[] = {
	ID_COL(B), PGORM_COLUMN_FK(INT8, "a_id", PGORM_NULLABLE, B, a_id, "parent_t", "missing", PGORM_FK_NO_ACTION),
	PGORM_COLUMN_END };
static const pgorm_model fkm_model = PGORM_MODEL("fkm_t", B, fkm_cols, NULL);

START_TEST(test_fk_non_key_column)
{
	const pgorm_model *m[] = { &fkn_model, &lone_parent };
	expect_err(m, 2, "fkn_t", "column a_id", "parent_t.name", "neither the primary key nor UNIQUE", NULL);
	const pgorm_model *m2[] = { &fkm_model, &lone_parent };
	expect_err(m2, 2, "fkm_t", "column a_id", "parent_t.missing", NULL);
}
END_TEST

static const pgorm_model same_table_model = PGORM_MODEL("parent_t", Plain, ok_parent_cols, NULL);

START_TEST(test_two_models_one_table)
{
	const pgorm_model *m[] = { &lone_parent, &same_table_model };
	expect_err(m, 2, "two models", "parent_t", NULL);
	const pgorm_model *m2[] = { &lone_parent, &lone_parent };
	expect_err(m2, 2, "parent_t", "twice", NULL);
}
END_TEST

static const pgorm_model badmagic_model = { .magic = 0x1234, .table = "magic_t", .size = sizeof(A),
	.columns = ok_parent_cols };

START_TEST(test_bad_magic)
{
	const pgorm_model *m[] = { &lone_parent, &badmagic_model };
	expect_err(m, 2, "model #1", "bad magic", NULL);
}
END_TEST

typedef struct HdrLast {
	int64_t id;
	pgorm_object hdr;
} HdrLast;
static const pgorm_column hdrlast_cols[] = { ID_COL(HdrLast), PGORM_COLUMN_END };
static const pgorm_model hdrlast_model = PGORM_MODEL("hdrlast_t", HdrLast, hdrlast_cols, NULL);

START_TEST(test_header_not_first)
{
	const pgorm_model *m[] = { &hdrlast_model };
	expect_err(m, 1, "hdrlast_t", "first member", NULL);
}
END_TEST

/* relationship to a model missing from the registry, and a relationship named like a column */
extern const pgorm_model nameclash_parent;
static const pgorm_relationship nameclash_rels[] = {
	PGORM_ONE_TO_MANY("name", A, kids, &plain_child, NULL, NULL, 0), PGORM_RELATIONSHIP_END };
const pgorm_model nameclash_parent = PGORM_MODEL("parent_t", A, ok_parent_cols, nameclash_rels);

START_TEST(test_relationship_misc)
{
	const pgorm_model *m[] = { &ok_parent };
	expect_err(m, 1, "parent_t.kids", "child_t", "not in the registry", NULL);
	const pgorm_model *m2[] = { &nameclash_parent, &plain_child };
	expect_err(m2, 2, "parent_t", "name", "column", NULL);
	pgorm_registry *reg = NULL;
	ck_assert_int_eq(pgorm_registry_create(NULL, m, 1, NULL), PGORM_EINVAL);
	(void)reg;
}
END_TEST

/* ---- issue 12 item 8 and issue 11 item 6: descriptors the registry used to accept ---- */

/* The valid pair parent_t.kids <-> child_t.owner in writable tables: each case changes one
 * thing and expects PGORM_EMODEL with the fragments given. */
typedef struct mut {
	pgorm_column pcols[8], ccols[8];
	pgorm_relationship prels[4], crels[4];
	pgorm_secondary sec;
	pgorm_model parent, child;
} mut;

static void mut_init(mut *x)
{
	memset(x, 0, sizeof *x);
	memcpy(x->pcols, ok_parent_cols, sizeof ok_parent_cols);
	memcpy(x->ccols, ok_child_cols, sizeof ok_child_cols);
	memcpy(x->prels, ok_parent_rels, sizeof ok_parent_rels);
	memcpy(x->crels, ok_child_rels, sizeof ok_child_rels);
	x->parent = ok_parent;
	x->child = ok_child;
	x->parent.columns = x->pcols;
	x->parent.relationships = x->prels;
	x->child.columns = x->ccols;
	x->child.relationships = x->crels;
	x->prels[0].target = &x->child;
	x->crels[0].target = &x->parent;
	x->sec = (pgorm_secondary){ "link_t", "parent_id", "child_id" };
}

#define MUT_ERR(x, ...) expect_err((const pgorm_model *const[]){ &(x)->parent, &(x)->child }, 2, __VA_ARGS__, NULL)

static void mut_ok(mut *x)
{
	pgorm_registry_destroy(expect_ok((const pgorm_model *const[]){ &x->parent, &x->child }, 2));
}

/* parent_t.kids as a one-directional many-to-many through link_t */
static void mut_m2m(mut *x)
{
	x->prels[0].back_populates = NULL;
	x->prels[0].kind = PGORM_REL_AUTO;
	x->prels[0].secondary = &x->sec;
	x->crels[0] = (pgorm_relationship)PGORM_RELATIONSHIP_END;
}

START_TEST(test_issue12_scalar_many_to_many)
{
	mut x;
	mut_init(&x);
	mut_m2m(&x);
	mut_ok(&x); /* as a collection it is fine */
	x.prels[0].flags = PGORM_REL_SCALAR;
	x.prels[0].offset = offsetof(A, one);
	x.prels[0].size = sizeof(void *);
	MUT_ERR(&x, "parent_t.kids", "PGORM_REL_SCALAR", "secondary");
	mut_init(&x);
	mut_m2m(&x);
	x.prels[0].kind = PGORM_REL_ONE_TO_MANY;
	MUT_ERR(&x, "parent_t.kids", "secondary table makes it many-to-many");
	mut_init(&x);
	x.prels[0].kind = PGORM_REL_MANY_TO_MANY;
	MUT_ERR(&x, "parent_t.kids", "needs a secondary table");
}
END_TEST

START_TEST(test_issue12_overlapping_fields)
{
	mut x;
	mut_init(&x);
	/* a column over another column (the PK) */
	x.pcols[2] = (pgorm_column){ .name = "id_hi", .type = PGORM_TYPE_INT4, .offset = offsetof(A, id) + 4, .size = 4 };
	MUT_ERR(&x, "model parent_t", "column id_hi", "overlaps column id");
	/* a column under a relationship field */
	mut_init(&x);
	x.pcols[2] = (pgorm_column){ .name = "k", .type = PGORM_TYPE_INT8, .offset = offsetof(A, kids) + 8, .size = 8 };
	MUT_ERR(&x, "model parent_t", "relationship kids", "overlaps column k");
	/* two relationship fields on the same bytes */
	mut_init(&x);
	x.prels[1] = x.prels[0];
	x.prels[1].name = "kids_again";
	x.prels[1].back_populates = NULL;
	MUT_ERR(&x, "model parent_t", "relationship kids_again", "overlaps relationship kids");
	/* a column over the object header */
	mut_init(&x);
	x.pcols[2] = (pgorm_column){ .name = "h", .type = PGORM_TYPE_INT8, .offset = 8, .size = 8 };
	MUT_ERR(&x, "parent_t", "column h", "header");
}
END_TEST

START_TEST(test_issue12_empty_names)
{
	mut x;
	mut_init(&x);
	x.pcols[1].name = "";
	MUT_ERR(&x, "parent_t", "column #1", "empty name");
	mut_init(&x);
	x.prels[0].name = "";
	MUT_ERR(&x, "parent_t", "empty name");
	mut_init(&x);
	x.prels[0].back_populates = "";
	MUT_ERR(&x, "parent_t.kids", "back_populates is empty");
	mut_init(&x);
	x.prels[0].fk_column = "";
	MUT_ERR(&x, "parent_t.kids", "fk_column is empty");
	mut_init(&x);
	x.ccols[1].fk_table = "";
	MUT_ERR(&x, "child_t", "column a_id", "fk_table is empty");
	mut_init(&x);
	x.parent.schema = "";
	MUT_ERR(&x, "parent_t", "schema name is empty");
	mut_init(&x);
	mut_m2m(&x);
	x.sec.remote_column = "";
	MUT_ERR(&x, "parent_t.kids", "secondary remote_column is empty");
}
END_TEST

typedef struct V {
	pgorm_object hdr;
	int64_t id;
	int64_t v1;
	int64_t v2;
	char pad[16];
} V;

START_TEST(test_issue12_two_version_columns)
{
	pgorm_column cols[] = { ID_COL(V), PGORM_COLUMN(INT8, "v1", PGORM_VERSION, V, v1),
	                        PGORM_COLUMN(INT8, "v2", PGORM_VERSION, V, v2), PGORM_COLUMN_END };
	pgorm_model m = PGORM_MODEL("v_t", V, cols, NULL);
	expect_err((const pgorm_model *const[]){ &m }, 1, "model v_t", "column v2", "second version column", "v1", NULL);
	cols[2].flags = 0;
	pgorm_registry_destroy(expect_ok((const pgorm_model *const[]){ &m }, 1));
}
END_TEST

START_TEST(test_issue12_unknown_bits_and_enums)
{
	mut x;
	mut_init(&x);
	x.pcols[1].flags = 1u << 10;
	MUT_ERR(&x, "parent_t", "column name", "unknown flag bits 0x400");
	mut_init(&x);
	x.ccols[1].on_delete = (pgorm_fk_action)42;
	MUT_ERR(&x, "child_t", "column a_id", "on_delete 42");
	mut_init(&x);
	x.ccols[1].on_update = (pgorm_fk_action)-1;
	MUT_ERR(&x, "child_t", "column a_id", "not a pgorm_fk_action");
	mut_init(&x);
	x.prels[0].loader = (pgorm_loader)99;
	MUT_ERR(&x, "parent_t.kids", "loader 99");
	mut_init(&x);
	x.prels[0].kind = (pgorm_rel_kind)7;
	MUT_ERR(&x, "parent_t.kids", "kind 7");
	mut_init(&x);
	x.prels[0].passive_deletes = (pgorm_passive)3;
	MUT_ERR(&x, "parent_t.kids", "passive_deletes 3");
	mut_init(&x);
	x.prels[0].cascade = PGORM_CASCADE_DELETE | (1u << 12);
	MUT_ERR(&x, "parent_t.kids", "unknown cascade bits 0x1000");
	mut_init(&x);
	x.crels[0].flags = 1u << 9;
	MUT_ERR(&x, "child_t.owner", "unknown flag bits 0x200");
	mut_init(&x);
	x.ccols[0].type = (pgorm_type)1000;
	MUT_ERR(&x, "child_t", "column id", "unsupported column type 1000");
}
END_TEST

START_TEST(test_issue12_wrapping_and_misaligned)
{
	mut x;
	mut_init(&x);
	x.pcols[1].offset = SIZE_MAX - 3; /* offset + size wraps */
	MUT_ERR(&x, "parent_t", "column name", "outside the struct");
	mut_init(&x);
	x.prels[0].offset = SIZE_MAX - 8;
	MUT_ERR(&x, "parent_t.kids", "outside the struct");
	mut_init(&x);
	x.parent.size = SIZE_MAX; /* the object allocation size would wrap */
	MUT_ERR(&x, "parent_t", "struct size", "not plausible");
	mut_init(&x);
	x.ccols[1].offset = offsetof(B, a_id) + 1;
	x.ccols[2].offset = offsetof(B, label) + 8; /* keep clear of a_id's bytes: only alignment is wrong */
	x.ccols[2].type = PGORM_TYPE_INT8;
	x.ccols[2].size = 8;
	MUT_ERR(&x, "child_t", "column a_id", "not aligned for int8");
	mut_init(&x);
	x.prels[0].offset = offsetof(A, kids) + 1;
	MUT_ERR(&x, "parent_t.kids", "not aligned");
}
END_TEST

static char long_name[3][80];

START_TEST(test_issue12_names_beyond_namedatalen)
{
	/* two tables whose names are equal in their first 63 bytes: PostgreSQL would see one */
	memset(long_name[0], 'p', 70);
	memset(long_name[1], 'p', 70);
	long_name[0][69] = '1';
	long_name[1][69] = '2';
	mut x, y;
	mut_init(&x);
	mut_init(&y);
	x.parent.table = long_name[0];
	y.parent.table = long_name[1];
	expect_err((const pgorm_model *const[]){ &x.parent, &y.parent }, 2, long_name[0], "longer than 63 bytes", NULL);
	/* 63 bytes is the limit itself */
	memset(long_name[2], 'q', 63);
	mut_init(&x);
	x.parent.table = long_name[2];
	x.ccols[1].fk_table = long_name[2];
	mut_ok(&x);
	x.ccols[1].name = long_name[0];
	MUT_ERR(&x, "child_t", "longer than 63 bytes");
	mut_init(&x);
	x.ccols[1].fk_table = long_name[0];
	MUT_ERR(&x, "child_t", "column a_id: fk_table", "longer than 63 bytes");
	mut_init(&x);
	mut_m2m(&x);
	x.sec.table = long_name[0];
	MUT_ERR(&x, "parent_t.kids", "secondary table", "longer than 63 bytes");
}
END_TEST

/* Issue 11 item 6: passive_deletes ALL never touches the children, so it cannot be combined
 * with a cascade that deletes them (SQLAlchemy raises ArgumentError for the same). delete-orphan
 * without delete is accepted (SQLAlchemy only warns): see model.h. */
START_TEST(test_issue11_passive_all_with_delete_cascades)
{
	unsigned bad[] = { PGORM_CASCADE_DELETE, PGORM_CASCADE_SAVE_UPDATE | PGORM_CASCADE_DELETE_ORPHAN, PGORM_CASCADE_ALL,
	                   PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		mut x;
		mut_init(&x);
		x.prels[0].passive_deletes = PGORM_PASSIVE_ALL;
		x.prels[0].cascade = bad[i];
		MUT_ERR(&x, "relationship parent_t.kids", "passive_deletes ALL", "delete-orphan");
	}
	mut x;
	mut_init(&x);
	x.prels[0].passive_deletes = PGORM_PASSIVE_ALL;
	x.prels[0].cascade = PGORM_CASCADE_SAVE_UPDATE | PGORM_CASCADE_MERGE;
	mut_ok(&x);
	x.prels[0].passive_deletes = PGORM_PASSIVE_ON;
	x.prels[0].cascade = PGORM_CASCADE_ALL | PGORM_CASCADE_DELETE_ORPHAN;
	mut_ok(&x);
	x.prels[0].passive_deletes = PGORM_PASSIVE_OFF;
	x.prels[0].cascade = PGORM_CASCADE_SAVE_UPDATE | PGORM_CASCADE_DELETE_ORPHAN; /* accepted, as in SQLAlchemy */
	mut_ok(&x);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("registry");
	TCase *tc = tcase_create("validation");
	tcase_add_test(tc, test_valid_pair_resolves);
	tcase_add_test(tc, test_back_populates_missing);
	tcase_add_test(tc, test_back_populates_points_elsewhere);
	tcase_add_test(tc, test_back_populates_wrong_target);
	tcase_add_test(tc, test_backref_collides);
	tcase_add_test(tc, test_backref_collides_with_column);
	tcase_add_test(tc, test_backref_generated);
	tcase_add_test(tc, test_no_fk_path);
	tcase_add_test(tc, test_fk_column_not_fk);
	tcase_add_test(tc, test_ambiguous_fk);
	tcase_add_test(tc, test_delete_orphan_many_to_one);
	tcase_add_test(tc, test_collection_field_wrong_size);
	tcase_add_test(tc, test_scalar_field_wrong_size);
	tcase_add_test(tc, test_column_offset_outside);
	tcase_add_test(tc, test_missing_pk);
	tcase_add_test(tc, test_duplicate_column);
	tcase_add_test(tc, test_unsupported_type);
	tcase_add_test(tc, test_fk_unknown_table);
	tcase_add_test(tc, test_fk_non_key_column);
	tcase_add_test(tc, test_two_models_one_table);
	tcase_add_test(tc, test_bad_magic);
	tcase_add_test(tc, test_header_not_first);
	tcase_add_test(tc, test_relationship_misc);
	tcase_add_test(tc, test_issue12_scalar_many_to_many);
	tcase_add_test(tc, test_issue12_overlapping_fields);
	tcase_add_test(tc, test_issue12_empty_names);
	tcase_add_test(tc, test_issue12_two_version_columns);
	tcase_add_test(tc, test_issue12_unknown_bits_and_enums);
	tcase_add_test(tc, test_issue12_wrapping_and_misaligned);
	tcase_add_test(tc, test_issue12_names_beyond_namedatalen);
	tcase_add_test(tc, test_issue11_passive_all_with_delete_cascades);
	suite_add_tcase(su, tc);
	return pgtest_run(su);
}
