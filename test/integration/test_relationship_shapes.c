/* Integration tests, relationship shapes (issue 6): one-to-one, backrefs without a struct
 * field, a self-referential tree, many-to-many through a secondary table, and relationships
 * together with version columns, expunge, merge, refresh and savepoints. Every test asserts
 * on the database rows and on the statements issued (pgtest_log), not only return codes. */
#include "pgtest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one-to-one: persons_<sfx>.passport (scalar) <-> passports_<sfx>.person ---- */

typedef struct Passport Passport;
typedef struct Person {
	pgorm_object hdr;
	int64_t id;
	char *name;
	Passport *passport;
} Person;
struct Passport {
	pgorm_object hdr;
	int64_t id;
	int64_t person_id;
	char *num;
	Person *person;
};

#define O2O(sfx, _casc)                                                                                         \
	extern const pgorm_model person_##sfx, passport_##sfx;                                                  \
	static const pgorm_column person_cols_##sfx[] = {                                                       \
		PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Person, id),                          \
		PGORM_COLUMN(TEXT, "name", 0, Person, name), PGORM_COLUMN_END };                                \
	static const pgorm_relationship person_rels_##sfx[] = {                                                 \
		{ .name = "passport", .target = &passport_##sfx, .kind = PGORM_REL_ONE_TO_MANY,                 \
		  .offset = offsetof(Person, passport), .size = sizeof(Passport *), .back_populates = "person", \
		  .cascade = (_casc), .flags = PGORM_REL_SCALAR },                                              \
		PGORM_RELATIONSHIP_END };                                                                       \
	const pgorm_model person_##sfx = PGORM_MODEL("persons_" #sfx, Person, person_cols_##sfx, person_rels_##sfx); \
	static const pgorm_column passport_cols_##sfx[] = {                                                     \
		PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Passport, id),                        \
		PGORM_COLUMN_FK(INT8, "person_id", PGORM_NULLABLE, Passport, person_id, "persons_" #sfx, "id",  \
		                PGORM_FK_NO_ACTION),                                                            \
		PGORM_COLUMN(TEXT, "num", 0, Passport, num), PGORM_COLUMN_END };                                \
	static const pgorm_relationship passport_rels_##sfx[] = {                                               \
		PGORM_MANY_TO_ONE("person", Passport, person, &person_##sfx, NULL, "passport"),                 \
		PGORM_RELATIONSHIP_END };                                                                       \
	const pgorm_model passport_##sfx = PGORM_MODEL("passports_" #sfx, Passport, passport_cols_##sfx, passport_rels_##sfx);

O2O(def, 0)
O2O(orph, PGORM_CASCADE_SAVE_UPDATE | PGORM_CASCADE_DELETE_ORPHAN)

/* ---- backrefs without a struct field ---- */

/* owners.pets (declared, a field) with backref "owner": pets have no field for it */
typedef struct Owner {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection pets;
} Owner;
typedef struct Pet {
	pgorm_object hdr;
	int64_t id;
	int64_t owner_id;
	char *name;
} Pet;
extern const pgorm_model owner_model, pet_model;
static const pgorm_column owner_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Owner, id),
	PGORM_COLUMN(TEXT, "name", 0, Owner, name), PGORM_COLUMN_END };
static const pgorm_relationship owner_rels[] = {
	PGORM_ONE_TO_MANY_BACKREF("pets", Owner, pets, &pet_model, NULL, "owner", 0), PGORM_RELATIONSHIP_END };
const pgorm_model owner_model = PGORM_MODEL("owners", Owner, owner_cols, owner_rels);
static const pgorm_column pet_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Pet, id),
	PGORM_COLUMN_FK(INT8, "owner_id", PGORM_NULLABLE, Pet, owner_id, "owners", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, Pet, name), PGORM_COLUMN_END };
const pgorm_model pet_model = PGORM_MODEL("pets", Pet, pet_cols, NULL);

/* books.shelf (declared, a field) with backref "books": shelves have no field for it */
typedef struct Shelf {
	pgorm_object hdr;
	int64_t id;
	char *name;
} Shelf;
typedef struct Book {
	pgorm_object hdr;
	int64_t id;
	int64_t shelf_id;
	char *title;
	Shelf *shelf;
} Book;
extern const pgorm_model shelf_model, book_model;
static const pgorm_column shelf_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Shelf, id),
	PGORM_COLUMN(TEXT, "name", 0, Shelf, name), PGORM_COLUMN_END };
const pgorm_model shelf_model = PGORM_MODEL("shelves", Shelf, shelf_cols, NULL);
static const pgorm_column book_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Book, id),
	PGORM_COLUMN_FK(INT8, "shelf_id", PGORM_NULLABLE, Book, shelf_id, "shelves", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "title", 0, Book, title), PGORM_COLUMN_END };
static const pgorm_relationship book_rels[] = {
	{ .name = "shelf", .target = &shelf_model, .kind = PGORM_REL_MANY_TO_ONE, .offset = offsetof(Book, shelf),
	  .size = sizeof(Shelf *), .backref = "books" },
	PGORM_RELATIONSHIP_END };
const pgorm_model book_model = PGORM_MODEL("books", Book, book_cols, book_rels);

/* ---- self-referential tree: nodes.parent_id -> nodes.id ---- */

typedef struct Node Node;
struct Node {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	char *name;
	int64_t ord;                /* DEFAULT nextval('node_ord'): the order rows were inserted */
	pgorm_collection children;
	Node *parent;
};
extern const pgorm_model node_model;
static const pgorm_column node_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Node, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, Node, parent_id, "nodes", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(TEXT, "name", 0, Node, name),
	PGORM_COLUMN(INT8, "ord", PGORM_SERVER_DEFAULT, Node, ord),
	PGORM_COLUMN_END };
static const pgorm_relationship node_rels[] = {
	{ .name = "children", .target = &node_model, .kind = PGORM_REL_ONE_TO_MANY, .offset = offsetof(Node, children),
	  .size = sizeof(pgorm_collection), .back_populates = "parent", .cascade = PGORM_CASCADE_ALL, .order_by = "id" },
	{ .name = "parent", .target = &node_model, .kind = PGORM_REL_MANY_TO_ONE, .offset = offsetof(Node, parent),
	  .size = sizeof(Node *), .back_populates = "children" },
	PGORM_RELATIONSHIP_END };
const pgorm_model node_model = PGORM_MODEL("nodes", Node, node_cols, node_rels);

/* the same tree with a version column (per-row UPDATE/DELETE with version checks) */
typedef struct VNode VNode;
struct VNode {
	pgorm_object hdr;
	int64_t id;
	int64_t parent_id;
	int32_t version;
	char *name;
	pgorm_collection children;
	VNode *parent;
};
extern const pgorm_model vnode_model;
static const pgorm_column vnode_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, VNode, id),
	PGORM_COLUMN_FK(INT8, "parent_id", PGORM_NULLABLE, VNode, parent_id, "vnodes", "id", PGORM_FK_NO_ACTION),
	PGORM_COLUMN(INT4, "version", PGORM_VERSION, VNode, version),
	PGORM_COLUMN(TEXT, "name", 0, VNode, name),
	PGORM_COLUMN_END };
static const pgorm_relationship vnode_rels[] = {
	{ .name = "children", .target = &vnode_model, .kind = PGORM_REL_ONE_TO_MANY, .offset = offsetof(VNode, children),
	  .size = sizeof(pgorm_collection), .back_populates = "parent", .cascade = PGORM_CASCADE_ALL, .order_by = "id" },
	{ .name = "parent", .target = &vnode_model, .kind = PGORM_REL_MANY_TO_ONE, .offset = offsetof(VNode, parent),
	  .size = sizeof(VNode *), .back_populates = "children" },
	PGORM_RELATIONSHIP_END };
const pgorm_model vnode_model = PGORM_MODEL("vnodes", VNode, vnode_cols, vnode_rels);

/* ---- many-to-many: students.courses <-> courses.students through enrollments ---- */

typedef struct Student {
	pgorm_object hdr;
	int64_t id;
	char *name;
	pgorm_collection courses;
} Student;
typedef struct Course {
	pgorm_object hdr;
	int64_t id;
	char *title;
	pgorm_collection students;
} Course;
extern const pgorm_model student_model, course_model;
static const pgorm_column student_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Student, id),
	PGORM_COLUMN(TEXT, "name", 0, Student, name), PGORM_COLUMN_END };
static const pgorm_relationship student_rels[] = {
	{ .name = "courses", .target = &course_model, .offset = offsetof(Student, courses),
	  .size = sizeof(pgorm_collection), .back_populates = "students", .order_by = "title",
	  .secondary = &(pgorm_secondary){ "enrollments", "student_id", "course_id" } },
	PGORM_RELATIONSHIP_END };
const pgorm_model student_model = PGORM_MODEL("students", Student, student_cols, student_rels);
static const pgorm_column course_cols[] = {
	PGORM_COLUMN(INT8, "id", PGORM_PK | PGORM_SERVER_DEFAULT, Course, id),
	PGORM_COLUMN(TEXT, "title", 0, Course, title), PGORM_COLUMN_END };
static const pgorm_relationship course_rels[] = {
	{ .name = "students", .target = &student_model, .offset = offsetof(Course, students),
	  .size = sizeof(pgorm_collection), .back_populates = "courses", .order_by = "name",
	  .secondary = &(pgorm_secondary){ "enrollments", "course_id", "student_id" } },
	PGORM_RELATIONSHIP_END };
const pgorm_model course_model = PGORM_MODEL("courses", Course, course_cols, course_rels);

/* ---- fixture ---- */

static pgorm_registry *reg;
static pgorm_conn *conn;   /* the session's connection */
static pgorm_conn *check;  /* a second connection: sees only committed rows */
static pgorm_session *s;
static pgtest_log log_;
static const pgtest_env env = { .reg = &reg, .conn = &conn, .check = &check, .session = &s, .log = &log_ };

static const char *const ddl[] = {
	"DROP TABLE IF EXISTS passports_def, persons_def, passports_orph, persons_orph, pets, owners, books, shelves, "
	"nodes, vnodes, enrollments, students, courses",
	"DROP SEQUENCE IF EXISTS node_ord",
	"CREATE TABLE persons_def (id bigserial PRIMARY KEY, name text NOT NULL)",
	"CREATE TABLE passports_def (id bigserial PRIMARY KEY, person_id bigint REFERENCES persons_def(id), num text NOT NULL)",
	"CREATE TABLE persons_orph (id bigserial PRIMARY KEY, name text NOT NULL)",
	"CREATE TABLE passports_orph (id bigserial PRIMARY KEY, person_id bigint REFERENCES persons_orph(id), num text NOT NULL)",
	"CREATE TABLE owners (id bigserial PRIMARY KEY, name text NOT NULL)",
	"CREATE TABLE pets (id bigserial PRIMARY KEY, owner_id bigint REFERENCES owners(id), name text NOT NULL)",
	"CREATE TABLE shelves (id bigserial PRIMARY KEY, name text NOT NULL)",
	"CREATE TABLE books (id bigserial PRIMARY KEY, shelf_id bigint REFERENCES shelves(id), title text NOT NULL)",
	"CREATE SEQUENCE node_ord",
	"CREATE TABLE nodes (id bigserial PRIMARY KEY, parent_id bigint REFERENCES nodes(id), name text NOT NULL, "
	"ord bigint NOT NULL DEFAULT nextval('node_ord'))",
	"CREATE TABLE vnodes (id bigserial PRIMARY KEY, parent_id bigint REFERENCES vnodes(id), "
	"version int NOT NULL DEFAULT 0, name text NOT NULL)",
	"CREATE TABLE students (id bigserial PRIMARY KEY, name text NOT NULL)",
	"CREATE TABLE courses (id bigserial PRIMARY KEY, title text NOT NULL)",
	"CREATE TABLE enrollments (student_id bigint NOT NULL REFERENCES students(id), "
	"course_id bigint NOT NULL REFERENCES courses(id), PRIMARY KEY (student_id, course_id))",
};

static void setup(void)
{
	const pgorm_model *models[] = { &person_def, &passport_def, &person_orph, &passport_orph, &owner_model,
	                                &pet_model, &shelf_model, &book_model, &node_model, &vnode_model,
	                                &student_model, &course_model };
	pgtest_env_setup(&env, models, sizeof models / sizeof *models, NULL);
	for (size_t i = 0; i < sizeof ddl / sizeof *ddl; i++)
		pgtest_exec(conn, ddl[i]);
	s = pgtest_env_session(&env, NULL, &log_);
}

static void teardown(void) { pgtest_env_teardown(&env); }

/* A fresh session on the same connection: nothing loaded, nothing in the identity map. */
static void renew_session(void)
{
	pgorm_session_destroy(s);
	s = pgtest_env_session(&env, NULL, &log_);
}

/* An integer from the committed state of the database (the second connection). */
static int64_t q(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int64_t q(const char *fmt, ...)
{
	char sql[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	return pgtest_int(check, sql);
}

static const pgorm_rel *rel(const pgorm_model *m, const char *name)
{
	const pgorm_rel *r = pgorm_registry_rel(reg, m, name);
	ck_assert_msg(r != NULL, "no relationship %s.%s", m->table, name);
	return r;
}

static void *obj_new(const pgorm_model *m)
{
	void *o = pgorm_object_new(s, m);
	ck_assert_ptr_nonnull(o);
	return o;
}

static void *get(const pgorm_model *m, int64_t id)
{
	void *o = NULL;
	pgorm_value pk = PGORM_INT8(id);
	int rc = pgorm_session_get(s, m, &pk, &o);
	ck_assert_msg(rc == 0, "get %s %lld: %s", m->table, (long long)id, pgorm_session_error(s)->message);
	return o;
}

static void commit_ok(void)
{
	int rc = pgorm_session_commit(s);
	ck_assert_msg(rc == 0, "commit: %d %s", rc, pgorm_session_error(s)->message);
}

static void flush_ok(void)
{
	int rc = pgorm_session_flush(s);
	ck_assert_msg(rc == 0, "flush: %d %s", rc, pgorm_session_error(s)->message);
}

/* Index of the first logged statement containing needle, or -1. */
static long log_find(const char *needle)
{
	for (size_t i = 0; i < log_.n; i++)
		if (strstr(log_.sql[i], needle))
			return (long)i;
	return -1;
}

static Person *person(const pgorm_model *m, const char *name)
{
	Person *p = obj_new(m);
	p->name = pgorm_strdup(s, name);
	return p;
}

static Passport *passport(const pgorm_model *m, const char *num)
{
	Passport *p = obj_new(m);
	p->num = pgorm_strdup(s, num);
	return p;
}

/* ================= one-to-one ================= */

START_TEST(test_one_to_one_replace_nulls_old)
{
	const pgorm_rel *pp = rel(&person_def, "passport"), *back = rel(&passport_def, "person");
	ck_assert_ptr_eq(pgorm_rel_partner(pp), back);
	Person *p = person(&person_def, "ann");
	Passport *a = passport(&passport_def, "A1");
	ck_assert_int_eq(pgorm_rel_set(s, pp, p, a), 0);
	ck_assert_ptr_eq(p->passport, a);
	ck_assert_ptr_eq(a->person, p);              /* back_populates at once */
	ck_assert_int_eq(pgorm_session_add(s, p), 0);
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_PENDING);
	commit_ok();
	ck_assert_int_eq(q("SELECT person_id FROM passports_def WHERE num = 'A1'"), p->id);

	/* replace: the old passport is nulled (no cascade), the new one points at p */
	ck_assert_int_eq(pgorm_rel_load(s, pp, p, NULL), 0);
	ck_assert_ptr_eq(p->passport, a);
	Passport *b = passport(&passport_def, "B2");
	ck_assert_int_eq(pgorm_rel_set(s, pp, p, b), 0);
	ck_assert_ptr_eq(p->passport, b);
	ck_assert_ptr_eq(b->person, p);
	ck_assert_ptr_null(a->person);               /* the old child lost its link at once */
	pgtest_log_clear(&log_);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM passports_def"), 2);
	ck_assert_int_eq(q("SELECT count(*) FROM passports_def WHERE num = 'A1' AND person_id IS NULL"), 1);
	ck_assert_int_eq(q("SELECT person_id FROM passports_def WHERE num = 'B2'"), p->id);
	ck_assert_uint_eq(pgtest_log_count(&log_, "INSERT INTO \"passports_def\""), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE \"passports_def\" SET \"person_id\""), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "DELETE"), 0);

	/* setting NULL detaches the current one too */
	ck_assert_int_eq(pgorm_rel_load(s, pp, p, NULL), 0);
	ck_assert_ptr_eq(p->passport, b);
	ck_assert_int_eq(pgorm_rel_set(s, pp, p, NULL), 0);
	ck_assert_ptr_null(b->person);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM passports_def WHERE person_id IS NULL"), 2);
}
END_TEST

START_TEST(test_one_to_one_replace_delete_orphan)
{
	const pgorm_rel *pp = rel(&person_orph, "passport");
	Person *p = person(&person_orph, "bob");
	Passport *a = passport(&passport_orph, "A1");
	ck_assert_int_eq(pgorm_rel_set(s, pp, p, a), 0);
	ck_assert_int_eq(pgorm_session_add(s, p), 0);
	commit_ok();
	ck_assert_int_eq(pgorm_rel_load(s, pp, p, NULL), 0);
	Passport *b = passport(&passport_orph, "B2");
	ck_assert_int_eq(pgorm_rel_set(s, pp, p, b), 0);
	pgtest_log_clear(&log_);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM passports_orph"), 1);
	ck_assert_int_eq(q("SELECT person_id FROM passports_orph WHERE num = 'B2'"), p->id);
	ck_assert_uint_eq(pgtest_log_count(&log_, "DELETE FROM \"passports_orph\""), 1);
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_DETACHED);
	ck_assert_int_eq(pgorm_object_state(b), PGORM_STATE_PERSISTENT);
}
END_TEST

/* The one-to-one was never loaded when it was replaced: the old child must still be nulled
 * (SQLAlchemy loads the old value of a one-to-one on set; pgorm resolves it at flush). */
START_TEST(test_issue_one_to_one_replace_unloaded)
{
	const pgorm_rel *pp = rel(&person_def, "passport");
	Person *p = person(&person_def, "cy");
	ck_assert_int_eq(pgorm_rel_set(s, pp, p, passport(&passport_def, "A1")), 0);
	ck_assert_int_eq(pgorm_session_add(s, p), 0);
	commit_ok();
	int64_t pid = p->id;
	renew_session();
	p = get(&person_def, pid);
	ck_assert(!pgorm_rel_is_loaded(pp, p));
	ck_assert_int_eq(pgorm_rel_set(s, pp, p, passport(&passport_def, "B2")), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM passports_def WHERE person_id = %lld", (long long)pid), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM passports_def WHERE num = 'A1' AND person_id IS NULL"), 1);

	/* the same with delete-orphan: the old child is deleted */
	const pgorm_rel *po = rel(&person_orph, "passport");
	Person *o = person(&person_orph, "dee");
	ck_assert_int_eq(pgorm_rel_set(s, po, o, passport(&passport_orph, "A1")), 0);
	ck_assert_int_eq(pgorm_session_add(s, o), 0);
	commit_ok();
	int64_t oid = o->id;
	renew_session();
	o = get(&person_orph, oid);
	ck_assert_int_eq(pgorm_rel_set(s, po, o, passport(&passport_orph, "B2")), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM passports_orph"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM passports_orph WHERE num = 'B2' AND person_id = %lld", (long long)oid), 1);
}
END_TEST

START_TEST(test_one_to_one_two_rows_is_an_error)
{
	const pgorm_rel *pp = rel(&person_def, "passport");
	pgtest_exec(conn, "INSERT INTO persons_def (id, name) VALUES (1, 'twin')");
	pgtest_exec(conn, "INSERT INTO passports_def (person_id, num) VALUES (1, 'X'), (1, 'Y')");
	/* lazy */
	Person *p = get(&person_def, 1);
	int rc = pgorm_rel_load(s, pp, p, NULL);
	ck_assert_int_eq(rc, PGORM_EMULTIPLE);
	const char *msg = pgorm_session_error(s)->message;
	ck_assert_msg(strstr(msg, "persons_def.passport") != NULL, "%s", msg);
	ck_assert_msg(strstr(msg, "one-to-one") != NULL, "%s", msg);
	ck_assert(!pgorm_rel_is_loaded(pp, p));
	/* selectin */
	renew_session();
	pgorm_query *qq;
	ck_assert_int_eq(pgorm_query_create(&qq, s, &person_def), 0);
	ck_assert_int_eq(pgorm_query_option(qq, "passport", PGORM_LOAD_SELECTIN), 0);
	pgorm_list rows;
	rc = pgorm_query_all(qq, &rows);
	ck_assert_int_eq(rc, PGORM_EMULTIPLE);
	msg = pgorm_session_error(s)->message;
	ck_assert_msg(strstr(msg, "persons_def.passport") != NULL, "%s", msg);
	pgorm_query_destroy(qq);
	ck_assert_uint_eq(pgtest_log_count(&log_, "FROM \"passports_def\""), 1);
	/* joined */
	renew_session();
	ck_assert_int_eq(pgorm_query_create(&qq, s, &person_def), 0);
	ck_assert_int_eq(pgorm_query_option(qq, "passport", PGORM_LOAD_JOINED), 0);
	rc = pgorm_query_all(qq, &rows);
	ck_assert_int_eq(rc, PGORM_EMULTIPLE);
	ck_assert_ptr_nonnull(strstr(pgorm_session_error(s)->message, "persons_def.passport"));
	pgorm_query_destroy(qq);
	/* one row is fine */
	pgorm_session_rollback(s);
	pgtest_exec(conn, "DELETE FROM passports_def WHERE num = 'Y'");
	renew_session();
	p = get(&person_def, 1);
	Passport *got = NULL;
	ck_assert_int_eq(pgorm_rel_load(s, pp, p, &got), 0);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got->num, "X");
	ck_assert_ptr_eq(got->person, p);
}
END_TEST

/* ================= backrefs without a struct field ================= */

START_TEST(test_backref_header_side)
{
	const pgorm_rel *pets = rel(&owner_model, "pets"), *owner = rel(&pet_model, "owner");
	ck_assert_ptr_eq(pgorm_rel_partner(pets), owner);
	ck_assert_int_eq(pgorm_rel_kind_of(owner), PGORM_REL_MANY_TO_ONE);
	Owner *o1 = obj_new(&owner_model), *o2 = obj_new(&owner_model);
	o1->name = "o1";
	o2->name = "o2";
	Pet *a = obj_new(&pet_model), *b = obj_new(&pet_model);
	a->name = "a";
	b->name = "b";
	/* set from the header side: the declared collection follows */
	ck_assert_int_eq(pgorm_rel_set(s, owner, a, o1), 0);
	ck_assert_uint_eq(o1->pets.len, 1);
	ck_assert_ptr_eq(o1->pets.items[0], a);
	void *got = NULL;
	ck_assert_int_eq(pgorm_rel_get(s, owner, a, &got), 0);
	ck_assert_ptr_eq(got, o1);
	/* append from the field side: the header side follows */
	ck_assert_int_eq(pgorm_rel_append(s, pets, o1, b), 0);
	ck_assert_int_eq(pgorm_rel_get(s, owner, b, &got), 0);
	ck_assert_ptr_eq(got, o1);
	ck_assert_ptr_eq(pgorm_rel_collection(s, pets, o1), &o1->pets);
	ck_assert_ptr_null(pgorm_rel_collection(s, owner, a));  /* to-one: not a collection */
	ck_assert_int_eq(pgorm_session_error(s)->code, PGORM_EINVAL);
	/* move b to o2 through the header side */
	ck_assert_int_eq(pgorm_rel_set(s, owner, b, o2), 0);
	ck_assert_uint_eq(o1->pets.len, 1);
	ck_assert_uint_eq(o2->pets.len, 1);
	ck_assert_int_eq(pgorm_session_add(s, o1), 0);
	ck_assert_int_eq(pgorm_session_add(s, o2), 0);
	ck_assert_int_eq(pgorm_object_state(b), PGORM_STATE_PENDING);
	commit_ok();
	ck_assert_int_eq(q("SELECT owner_id FROM pets WHERE name = 'a'"), o1->id);
	ck_assert_int_eq(q("SELECT owner_id FROM pets WHERE name = 'b'"), o2->id);

	/* a fresh session: the header side loads lazily (from the identity map when possible) */
	int64_t aid = a->id, o1id = o1->id;
	renew_session();
	Pet *a2 = get(&pet_model, aid);
	ck_assert_int_eq(pgorm_rel_get(s, owner, a2, &got), 0);
	ck_assert_ptr_null(got);                          /* not loaded: no hidden SQL */
	pgtest_log_clear(&log_);
	ck_assert_int_eq(pgorm_rel_load(s, owner, a2, &got), 0);
	ck_assert_ptr_nonnull(got);
	ck_assert_int_eq(((Owner *)got)->id, o1id);
	ck_assert_uint_eq(pgtest_log_count(&log_, "FROM \"owners\""), 1);
	Owner *o1b = got;
	void *same = get(&owner_model, o1id);
	ck_assert_ptr_eq(same, o1b);
	/* set NULL from the header side: FK nulled at flush */
	ck_assert_int_eq(pgorm_rel_load(s, pets, o1b, NULL), 0);
	ck_assert_uint_eq(o1b->pets.len, 1);
	ck_assert_int_eq(pgorm_rel_set(s, owner, a2, NULL), 0);
	ck_assert_uint_eq(o1b->pets.len, 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM pets WHERE owner_id IS NULL"), 1);
}
END_TEST

START_TEST(test_backref_collection_in_header)
{
	const pgorm_rel *shelf = rel(&book_model, "shelf"), *books = rel(&shelf_model, "books");
	ck_assert_int_eq(pgorm_rel_kind_of(books), PGORM_REL_ONE_TO_MANY);
	ck_assert_ptr_eq(pgorm_rel_partner(books), shelf);
	Shelf *sh = obj_new(&shelf_model);
	sh->name = "top";
	Book *b1 = obj_new(&book_model), *b2 = obj_new(&book_model);
	b1->title = "one";
	b2->title = "two";
	ck_assert_int_eq(pgorm_rel_set(s, shelf, b1, sh), 0);
	pgorm_collection *c = pgorm_rel_collection(s, books, sh);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->len, 1);
	ck_assert_ptr_eq(c->items[0], b1);
	ck_assert_int_eq(pgorm_rel_append(s, books, sh, b2), 0);
	ck_assert_ptr_eq(b2->shelf, sh);
	ck_assert_uint_eq(c->len, 2);
	ck_assert_int_eq(pgorm_session_add(s, sh), 0);   /* the backref cascades save-update */
	ck_assert_int_eq(pgorm_object_state(b2), PGORM_STATE_PENDING);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM books WHERE shelf_id = %lld", (long long)sh->id), 2);
	/* remove through the header collection: FK nulled */
	pgorm_collection *c2 = NULL;
	ck_assert_int_eq(pgorm_rel_load(s, books, sh, &c2), 0);
	ck_assert_ptr_eq(c2, c);
	ck_assert_uint_eq(c->len, 2);
	ck_assert_int_eq(pgorm_rel_remove(s, books, sh, b1), 0);
	ck_assert_ptr_null(b1->shelf);
	pgtest_log_clear(&log_);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM books WHERE shelf_id IS NULL AND title = 'one'"), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE \"books\" SET \"shelf_id\""), 1);
	/* selectin through the header-stored collection */
	renew_session();
	pgorm_query *qq;
	ck_assert_int_eq(pgorm_query_create(&qq, s, &shelf_model), 0);
	ck_assert_int_eq(pgorm_query_option(qq, "books", PGORM_LOAD_SELECTIN), 0);
	pgorm_list rows;
	ck_assert_int_eq(pgorm_query_all(qq, &rows), 0);
	ck_assert_uint_eq(rows.len, 1);
	c = pgorm_rel_collection(s, books, rows.items[0]);
	ck_assert_uint_eq(c->len, 1);
	ck_assert_str_eq(((Book *)c->items[0])->title, "two");
	ck_assert_ptr_eq(((Book *)c->items[0])->shelf, rows.items[0]);
	ck_assert_uint_eq(log_.n, 3); /* BEGIN, shelves, books */
	pgorm_query_destroy(qq);
}
END_TEST

/* ================= self-referential tree ================= */

static Node *node(const char *name)
{
	Node *n = obj_new(&node_model);
	n->name = pgorm_strdup(s, name);
	return n;
}

/* root -> (c1 -> (g1, g2), c2) built bottom-up and added from a grandchild. */
static Node *tree(Node **c1, Node **g1)
{
	const pgorm_rel *children = rel(&node_model, "children"), *parent = rel(&node_model, "parent");
	Node *root = node("root"), *a = node("c1"), *b = node("c2"), *x = node("g1"), *y = node("g2");
	ck_assert_int_eq(pgorm_rel_set(s, parent, x, a), 0);
	ck_assert_int_eq(pgorm_rel_append(s, children, a, y), 0);
	ck_assert_int_eq(pgorm_rel_set(s, parent, a, root), 0);
	ck_assert_int_eq(pgorm_rel_append(s, children, root, b), 0);
	/* adding the grandchild first puts it first in add order: flush must reorder */
	ck_assert_int_eq(pgorm_session_add(s, x), 0);
	ck_assert_int_eq(pgorm_object_state(root), PGORM_STATE_PENDING);
	ck_assert_int_eq(pgorm_object_state(b), PGORM_STATE_PENDING);
	if (c1) *c1 = a;
	if (g1) *g1 = x;
	return root;
}

START_TEST(test_tree_insert_parents_first)
{
	Node *c1, *g1;
	Node *root = tree(&c1, &g1);
	ck_assert_uint_eq(root->children.len, 2);
	ck_assert_uint_eq(c1->children.len, 2);
	ck_assert_ptr_eq(g1->parent, c1);
	pgtest_log_clear(&log_);
	commit_ok();
	/* two batches: the root leaves parent_id out (never assigned), the others name it */
	ck_assert_uint_eq(pgtest_log_count(&log_, "INSERT INTO \"nodes\""), 2);
	ck_assert_int_eq(q("SELECT count(*) FROM nodes"), 5);
	ck_assert_int_eq(q("SELECT count(*) FROM nodes WHERE parent_id IS NULL"), 1);
	/* every row was inserted after its parent (ord is DEFAULT nextval, evaluated row by row) */
	ck_assert_int_eq(q("SELECT count(*) FROM nodes c JOIN nodes p ON c.parent_id = p.id WHERE p.ord > c.ord"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM nodes c JOIN nodes p ON c.parent_id = p.id WHERE p.name = 'c1'"), 2);
	ck_assert_int_eq(q("SELECT parent_id FROM nodes WHERE name = 'g1'"), c1->id);
	ck_assert_int_eq(q("SELECT parent_id FROM nodes WHERE name = 'c1'"), root->id);
	/* RETURNING brought the server defaults back */
	ck_assert_int_eq(q("SELECT ord FROM nodes WHERE name = 'g1'"), g1->ord);
	ck_assert(root->ord < c1->ord && c1->ord < g1->ord);
}
END_TEST

START_TEST(test_tree_delete_subtree)
{
	Node *c1;
	Node *root = tree(&c1, NULL);
	commit_ok();
	int64_t rid = root->id, cid = c1->id;
	renew_session();
	Node *c = get(&node_model, cid);
	ck_assert(!pgorm_rel_is_loaded(rel(&node_model, "children"), c));
	ck_assert_int_eq(pgorm_session_delete(s, c), 0);
	char *plan = NULL;
	ck_assert_int_eq(pgorm_session_plan(s, &plan), 0);
	ck_assert_ptr_nonnull(strstr(plan, "load nodes.children"));
	pgorm_free(plan);
	pgtest_log_clear(&log_);
	commit_ok();
	/* c1 and its two children are gone, root and c2 stay */
	ck_assert_int_eq(q("SELECT count(*) FROM nodes"), 2);
	ck_assert_int_eq(q("SELECT count(*) FROM nodes WHERE id = %lld", (long long)rid), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM nodes WHERE name = 'c2' AND parent_id = %lld", (long long)rid), 1);
	/* the children were loaded (one SELECT per level) and deleted in one batch */
	ck_assert_uint_eq(pgtest_log_count(&log_, "DELETE FROM \"nodes\""), 1);
	ck_assert_uint_le(pgtest_log_count(&log_, "SELECT"), 3);
	ck_assert_int_eq(pgorm_object_state(c), PGORM_STATE_DETACHED);
}
END_TEST

/* A whole tree deleted from the root, with the default cascade on a second, unrelated root. */
START_TEST(test_tree_delete_from_root)
{
	Node *root = tree(NULL, NULL);
	commit_ok();
	int64_t rid = root->id;
	renew_session();
	ck_assert_int_eq(pgorm_session_delete(s, get(&node_model, rid)), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM nodes"), 0);
}
END_TEST

START_TEST(test_tree_cycle_reported)
{
	const pgorm_rel *parent = rel(&node_model, "parent");
	Node *a = node("a"), *b = node("b");
	ck_assert_int_eq(pgorm_rel_set(s, parent, a, b), 0);
	ck_assert_int_eq(pgorm_rel_set(s, parent, b, a), 0);
	ck_assert_ptr_eq(a->parent, b);
	ck_assert_ptr_eq(b->parent, a);
	ck_assert_uint_eq(a->children.len, 1);
	ck_assert_int_eq(pgorm_session_add(s, a), 0);
	pgtest_log_clear(&log_);
	int rc = pgorm_session_commit(s);
	ck_assert_int_eq(rc, PGORM_EUNSUPPORTED);
	const char *msg = pgorm_session_error(s)->message;
	ck_assert_msg(strstr(msg, "cycle") != NULL, "%s", msg);
	ck_assert_msg(strstr(msg, "nodes") != NULL, "%s", msg);
	ck_assert_uint_eq(pgtest_log_count(&log_, "INSERT"), 0);   /* reported before any row is sent */
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_TRANSIENT);
	ck_assert_int_eq(a->id, 0);                                /* the key from the sequence is reset */
	ck_assert_int_eq(q("SELECT count(*) FROM nodes"), 0);
	/* breaking the cycle makes it work */
	ck_assert_int_eq(pgorm_rel_set(s, parent, b, NULL), 0);
	ck_assert_int_eq(pgorm_session_add(s, a), 0);
	ck_assert_int_eq(pgorm_session_add(s, b), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM nodes WHERE name = 'a' AND parent_id = %lld", (long long)b->id), 1);
}
END_TEST

/* A cycle through an existing row is not a cycle of new rows: insert, then update. */
START_TEST(test_tree_cycle_through_persistent)
{
	const pgorm_rel *parent = rel(&node_model, "parent");
	Node *a = node("a");
	ck_assert_int_eq(pgorm_session_add(s, a), 0);
	commit_ok();
	Node *b = node("b");
	ck_assert_int_eq(pgorm_rel_load(s, rel(&node_model, "children"), a, NULL), 0);
	ck_assert_int_eq(pgorm_rel_set(s, parent, b, a), 0);
	ck_assert_int_eq(pgorm_session_add(s, b), 0);
	ck_assert_int_eq(pgorm_rel_set(s, parent, a, b), 0);
	pgtest_log_clear(&log_);
	commit_ok();
	ck_assert_int_eq(q("SELECT parent_id FROM nodes WHERE name = 'a'"), b->id);
	ck_assert_int_eq(q("SELECT parent_id FROM nodes WHERE name = 'b'"), a->id);
	long ins = log_find("INSERT INTO \"nodes\""), upd = log_find("UPDATE \"nodes\"");
	ck_assert(ins >= 0 && upd > ins);
}
END_TEST

/* ================= many-to-many ================= */

static Student *student(const char *name)
{
	Student *st = obj_new(&student_model);
	st->name = pgorm_strdup(s, name);
	return st;
}

static Course *course(const char *title)
{
	Course *c = obj_new(&course_model);
	c->title = pgorm_strdup(s, title);
	return c;
}

static bool has(const pgorm_collection *c, const void *o)
{
	for (size_t i = 0; i < c->len; i++)
		if (c->items[i] == o)
			return true;
	return false;
}

START_TEST(test_m2m_both_sides)
{
	const pgorm_rel *courses = rel(&student_model, "courses"), *students = rel(&course_model, "students");
	ck_assert_int_eq(pgorm_rel_kind_of(courses), PGORM_REL_MANY_TO_MANY);
	ck_assert_ptr_eq(pgorm_rel_partner(courses), students);
	Student *ann = student("ann"), *bob = student("bob");
	Course *math = course("math"), *art = course("art");
	ck_assert_int_eq(pgorm_rel_append(s, courses, ann, math), 0);
	ck_assert(has(&math->students, ann));              /* bidirectional in memory */
	ck_assert_int_eq(pgorm_rel_append(s, students, art, ann), 0);   /* from the other side */
	ck_assert(has(&ann->courses, art));
	ck_assert_int_eq(pgorm_rel_append(s, students, math, bob), 0);
	ck_assert_uint_eq(ann->courses.len, 2);
	ck_assert_uint_eq(math->students.len, 2);
	ck_assert_int_eq(pgorm_session_add(s, ann), 0);     /* cascades to math, art, and bob via math */
	ck_assert_int_eq(pgorm_object_state(bob), PGORM_STATE_PENDING);
	pgtest_log_clear(&log_);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM enrollments"), 3);
	ck_assert_int_eq(q("SELECT count(*) FROM enrollments WHERE student_id = %lld", (long long)ann->id), 2);
	ck_assert_int_eq(q("SELECT count(*) FROM enrollments WHERE student_id = %lld AND course_id = %lld",
	                   (long long)bob->id, (long long)math->id), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "INSERT INTO \"enrollments\""), 1); /* one batch for the table */
	long last_ins = -1;
	for (size_t i = 0; i < log_.n; i++)
		if (strstr(log_.sql[i], "INSERT INTO \"students\"") || strstr(log_.sql[i], "INSERT INTO \"courses\""))
			last_ins = (long)i;
	ck_assert(log_find("INSERT INTO \"enrollments\"") > last_ins);  /* after both rows exist */

	/* remove from either side */
	ck_assert_int_eq(pgorm_rel_load(s, courses, ann, NULL), 0);
	ck_assert_int_eq(pgorm_rel_load(s, students, math, NULL), 0);
	ck_assert_uint_eq(ann->courses.len, 2);
	ck_assert_ptr_eq(ann->courses.items[0], art);       /* order_by title */
	ck_assert_int_eq(pgorm_rel_remove(s, students, math, ann), 0);
	ck_assert(!has(&ann->courses, math));
	ck_assert(!has(&math->students, ann));
	ck_assert_int_eq(pgorm_rel_remove(s, courses, ann, art), 0);
	ck_assert_uint_eq(ann->courses.len, 0);
	pgtest_log_clear(&log_);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM enrollments"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM enrollments WHERE student_id = %lld", (long long)bob->id), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "DELETE FROM \"enrollments\""), 1); /* both removes, one batch */
	ck_assert_uint_eq(pgtest_log_count(&log_, "DELETE FROM \"students\""), 0);
}
END_TEST

/* Append then remove the same pair before a flush: nothing to write. Re-append after a
 * remove: the row stays. */
START_TEST(test_m2m_net_changes)
{
	const pgorm_rel *courses = rel(&student_model, "courses"), *students = rel(&course_model, "students");
	Student *ann = student("ann");
	Course *math = course("math");
	pgorm_session_add(s, ann);
	pgorm_session_add(s, math);
	commit_ok();
	ck_assert_int_eq(pgorm_rel_load(s, courses, ann, NULL), 0);
	ck_assert_int_eq(pgorm_rel_append(s, courses, ann, math), 0);
	ck_assert_int_eq(pgorm_rel_remove(s, students, math, ann), 0);
	pgtest_log_clear(&log_);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM enrollments"), 0);
	ck_assert_uint_eq(pgtest_log_count(&log_, "INSERT INTO \"enrollments\""), 0);
	ck_assert_int_eq(pgorm_rel_load(s, courses, ann, NULL), 0);
	ck_assert_int_eq(pgorm_rel_append(s, courses, ann, math), 0);
	commit_ok();
	ck_assert_int_eq(pgorm_rel_load(s, courses, ann, NULL), 0);
	ck_assert_int_eq(pgorm_rel_remove(s, courses, ann, math), 0);
	ck_assert_int_eq(pgorm_rel_append(s, students, math, ann), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM enrollments"), 1);
	/* appending a pair that is already there does not duplicate it, in memory or in the table */
	ck_assert_int_eq(pgorm_rel_load(s, courses, ann, NULL), 0);
	ck_assert_int_eq(pgorm_rel_append(s, courses, ann, math), 0);
	ck_assert_uint_eq(ann->courses.len, 1);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM enrollments"), 1);
}
END_TEST

START_TEST(test_m2m_load_lazy_and_selectin)
{
	pgtest_exec(conn, "INSERT INTO students (id, name) VALUES (1, 'ann'), (2, 'bob'), (3, 'cy')");
	pgtest_exec(conn, "INSERT INTO courses (id, title) VALUES (10, 'math'), (11, 'art'), (12, 'bio')");
	pgtest_exec(conn, "INSERT INTO enrollments VALUES (1, 10), (1, 11), (2, 10), (3, 12), (2, 12)");
	const pgorm_rel *courses = rel(&student_model, "courses"), *students = rel(&course_model, "students");
	/* lazy, both directions */
	Student *ann = get(&student_model, 1);
	pgtest_log_clear(&log_);
	pgorm_collection *c = NULL;
	ck_assert_int_eq(pgorm_rel_load(s, courses, ann, &c), 0);
	ck_assert_uint_eq(c->len, 2);
	ck_assert_str_eq(((Course *)c->items[0])->title, "art");
	ck_assert_str_eq(((Course *)c->items[1])->title, "math");
	ck_assert_uint_eq(log_.n, 1);
	Course *math = c->items[1];
	ck_assert_ptr_eq(get(&course_model, 10), math);     /* identity map, no SQL */
	ck_assert_uint_eq(log_.n, 1);
	ck_assert_int_eq(pgorm_rel_load(s, students, math, &c), 0);
	ck_assert_uint_eq(c->len, 2);
	ck_assert_ptr_eq(c->items[0], ann);                  /* the same object */
	ck_assert_str_eq(((Student *)c->items[1])->name, "bob");
	/* selectin: one statement for every student's courses */
	renew_session();
	pgorm_query *qq;
	ck_assert_int_eq(pgorm_query_create(&qq, s, &student_model), 0);
	ck_assert_int_eq(pgorm_query_order_by(qq, "id", false), 0);
	ck_assert_int_eq(pgorm_query_option(qq, "courses", PGORM_LOAD_SELECTIN), 0);
	pgorm_list rows;
	ck_assert_int_eq(pgorm_query_all(qq, &rows), 0);
	pgorm_query_destroy(qq);
	ck_assert_uint_eq(rows.len, 3);
	ck_assert_uint_eq(pgtest_log_count(&log_, "\"enrollments\""), 1);
	size_t expect[3] = { 2, 2, 1 };
	for (size_t i = 0; i < 3; i++) {
		Student *st = rows.items[i];
		ck_assert(pgorm_rel_is_loaded(courses, st));
		ck_assert_uint_eq(st->courses.len, expect[i]);
	}
	Student *bob = rows.items[1];
	ck_assert_str_eq(((Course *)bob->courses.items[0])->title, "bio");
	ck_assert_ptr_eq(((Student *)rows.items[2])->courses.items[0], bob->courses.items[0]); /* shared course object */
}
END_TEST

START_TEST(test_m2m_delete_removes_association_rows)
{
	const pgorm_rel *courses = rel(&student_model, "courses");
	Student *ann = student("ann"), *bob = student("bob");
	Course *math = course("math"), *art = course("art");
	pgorm_rel_append(s, courses, ann, math);
	pgorm_rel_append(s, courses, ann, art);
	pgorm_rel_append(s, courses, bob, math);
	pgorm_session_add(s, ann);
	pgorm_session_add(s, bob);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM enrollments"), 3);
	int64_t annid = ann->id, mathid = math->id;
	renew_session();
	/* delete a student whose collection is not loaded */
	ck_assert_int_eq(pgorm_session_delete(s, get(&student_model, annid)), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM students"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM courses"), 2);          /* no delete cascade */
	ck_assert_int_eq(q("SELECT count(*) FROM enrollments"), 1);
	long ad = log_find("DELETE FROM \"enrollments\""), sd = log_find("DELETE FROM \"students\"");
	ck_assert(ad >= 0 && sd > ad);
	/* delete from the other side, with the collection loaded */
	Course *m = get(&course_model, mathid);
	ck_assert_int_eq(pgorm_rel_load(s, rel(&course_model, "students"), m, NULL), 0);
	ck_assert_uint_eq(m->students.len, 1);
	Student *b = m->students.items[0];
	ck_assert_int_eq(pgorm_rel_load(s, courses, b, NULL), 0);
	ck_assert(has(&b->courses, m));
	ck_assert_int_eq(pgorm_session_delete(s, m), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM enrollments"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM courses"), 1);
	ck_assert(!has(&b->courses, m));                     /* gone from loaded collections at commit */
}
END_TEST

/* ================= version column + relationships ================= */

static VNode *vnode(const char *name)
{
	VNode *n = obj_new(&vnode_model);
	n->name = pgorm_strdup(s, name);
	return n;
}

START_TEST(test_version_with_relationships)
{
	const pgorm_rel *children = rel(&vnode_model, "children"), *parent = rel(&vnode_model, "parent");
	VNode *r1 = vnode("r1"), *r2 = vnode("r2"), *k = vnode("k");
	pgorm_rel_append(s, children, r1, k);
	pgorm_session_add(s, r1);
	pgorm_session_add(s, r2);
	commit_ok();
	ck_assert_int_eq(q("SELECT version FROM vnodes WHERE name = 'k'"), 1); /* new rows start at 1, as in SQLAlchemy */
	/* moving the child between parents: one UPDATE of its FK with a version check */
	ck_assert_int_eq(pgorm_rel_load(s, children, r1, NULL), 0);
	ck_assert_int_eq(pgorm_rel_load(s, children, r2, NULL), 0);
	ck_assert_int_eq(pgorm_rel_set(s, parent, k, r2), 0);
	ck_assert_uint_eq(r1->children.len, 0);
	pgtest_log_clear(&log_);
	commit_ok();
	ck_assert_int_eq(q("SELECT parent_id FROM vnodes WHERE name = 'k'"), r2->id);
	ck_assert_int_eq(q("SELECT version FROM vnodes WHERE name = 'k'"), 2);
	ck_assert_int_eq(k->version, 2);
	ck_assert_int_eq(q("SELECT version FROM vnodes WHERE name = 'r1'"), 1);   /* parents untouched */
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE \"vnodes\""), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "\"version\" = \"version\" + 1"), 1);
	/* a concurrent change: the version check fails, nothing is applied */
	ck_assert_int_eq(pgorm_rel_load(s, children, r2, NULL), 0);
	ck_assert_int_eq(pgorm_rel_load(s, children, r1, NULL), 0);
	ck_assert_ptr_eq(r2->children.items[0], k);
	ck_assert_int_eq(k->version, 2);
	pgtest_exec(check, "UPDATE vnodes SET version = version + 1 WHERE name = 'k'");
	ck_assert_int_eq(pgorm_rel_set(s, parent, k, r1), 0);
	int rc = pgorm_session_commit(s);
	ck_assert_int_eq(rc, PGORM_ESTALE);
	ck_assert_ptr_nonnull(strstr(pgorm_session_error(s)->message, "vnodes"));
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(q("SELECT parent_id FROM vnodes WHERE name = 'k'"), r2->id);
}
END_TEST

/* Per-row DELETEs (versioned rows) of a self-referential subtree must go children first. */
START_TEST(test_issue_versioned_tree_delete_order)
{
	const pgorm_rel *children = rel(&vnode_model, "children");
	VNode *root = vnode("root"), *c = vnode("c"), *g = vnode("g");
	pgorm_rel_append(s, children, root, c);
	pgorm_rel_append(s, children, c, g);
	pgorm_session_add(s, root);
	commit_ok();
	int64_t rid = root->id;
	renew_session();
	ck_assert_int_eq(pgorm_session_delete(s, get(&vnode_model, rid)), 0);
	pgtest_log_clear(&log_);
	int rc = pgorm_session_commit(s);
	ck_assert_msg(rc == 0, "commit: %s", pgorm_session_error(s)->message);
	ck_assert_int_eq(q("SELECT count(*) FROM vnodes"), 0);
	ck_assert_uint_eq(pgtest_log_count(&log_, "DELETE FROM \"vnodes\""), 3);
	ck_assert_uint_eq(pgtest_log_count(&log_, "AND \"version\" = $2"), 3);
}
END_TEST

/* ================= expunge, merge, refresh ================= */

START_TEST(test_expunge)
{
	const pgorm_rel *children = rel(&node_model, "children");
	Node *c1;
	Node *root = tree(&c1, NULL);
	commit_ok();
	int64_t rid = root->id, cid = c1->id;
	ck_assert_int_eq(pgorm_rel_load(s, children, root, NULL), 0);
	ck_assert_int_eq(pgorm_rel_load(s, children, c1, NULL), 0);
	/* expunge cascades along children (cascade all) */
	ck_assert_int_eq(pgorm_session_expunge(s, root), 0);
	ck_assert_int_eq(pgorm_object_state(root), PGORM_STATE_DETACHED);
	ck_assert_int_eq(pgorm_object_state(c1), PGORM_STATE_DETACHED);
	ck_assert_int_eq(pgorm_object_state(c1->children.items[0]), PGORM_STATE_DETACHED);
	/* changes to detached objects are not flushed */
	root->name = "changed";
	pgtest_log_clear(&log_);
	commit_ok();
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM nodes WHERE name = 'root'"), 1);
	/* the identity map forgot them: get loads a new object */
	Node *again = get(&node_model, rid);
	ck_assert_ptr_ne(again, root);
	ck_assert_str_eq(again->name, "root");
	ck_assert_ptr_eq(get(&node_model, rid), again);
	Node *c1b = get(&node_model, cid);
	ck_assert_ptr_ne(c1b, c1);
	/* a detached object cannot be added back */
	ck_assert_int_eq(pgorm_session_add(s, root), PGORM_ESTATE);
}
END_TEST

START_TEST(test_merge)
{
	Node *n = node("orig");
	pgorm_session_add(s, n);
	commit_ok();
	int64_t id = n->id;
	ck_assert_int_eq(pgorm_session_expunge(s, n), 0);
	n->name = "merged";
	void *out = NULL;
	pgtest_log_clear(&log_);
	ck_assert_int_eq(pgorm_session_merge(s, n, &out), 0);
	ck_assert_ptr_nonnull(out);
	ck_assert_ptr_ne(out, n);
	ck_assert_str_eq(((Node *)out)->name, "merged");
	ck_assert_ptr_ne(((Node *)out)->name, n->name);        /* a session-owned copy */
	ck_assert_int_eq(pgorm_object_state(out), PGORM_STATE_PERSISTENT);
	ck_assert_ptr_eq(get(&node_model, id), out);
	commit_ok();
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE \"nodes\" SET \"name\""), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM nodes WHERE name = 'merged' AND id = %lld", (long long)id), 1);
	/* merging an object whose row does not exist makes it pending: INSERT */
	renew_session();
	Node *proto = node("fresh");          /* transient, never added */
	proto->id = 424242;
	ck_assert_int_eq(pgorm_session_merge(s, proto, &out), 0);
	ck_assert_ptr_ne(out, proto);
	ck_assert_int_eq(pgorm_object_state(out), PGORM_STATE_PENDING);
	ck_assert_int_eq(pgorm_object_state(proto), PGORM_STATE_TRANSIENT);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM nodes WHERE id = 424242 AND name = 'fresh'"), 1);
}
END_TEST

START_TEST(test_refresh)
{
	const pgorm_rel *children = rel(&node_model, "children");
	Node *root = tree(NULL, NULL);
	commit_ok();
	ck_assert_int_eq(pgorm_rel_load(s, children, root, NULL), 0);
	pgtest_exec(check, "UPDATE nodes SET name = 'renamed' WHERE parent_id IS NULL");
	pgtest_log_clear(&log_);
	ck_assert_int_eq(pgorm_session_refresh(s, root), 0);
	ck_assert_str_eq(root->name, "renamed");
	/* children cascade "all" includes refresh-expire: the two loaded children are refreshed
	 * too (their own children are not loaded, so the walk stops there) */
	ck_assert_uint_eq(pgtest_log_count(&log_, "FROM \"nodes\""), 3);
	ck_assert_uint_eq(root->children.len, 2);            /* loaded collections stay */
	/* nothing to flush after a refresh */
	pgtest_log_clear(&log_);
	ck_assert_int_eq(pgorm_session_flush(s), 0);
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE"), 0);
	commit_ok();
	/* the row is gone: ENOTFOUND and the object is detached */
	Node *lone = node("lone");
	pgorm_session_add(s, lone);
	commit_ok();
	pgtest_exec(check, "DELETE FROM nodes WHERE name = 'lone'");
	ck_assert_int_eq(pgorm_session_refresh(s, lone), PGORM_ENOTFOUND);
	ck_assert_int_eq(pgorm_object_state(lone), PGORM_STATE_DETACHED);
	commit_ok();
}
END_TEST

/* ================= savepoints ================= */

START_TEST(test_savepoint_rollback_pending)
{
	const pgorm_rel *children = rel(&node_model, "children");
	Node *keep = node("keep");
	pgorm_session_add(s, keep);
	ck_assert_int_eq(pgorm_session_begin_nested(s), 0);     /* flushes 'keep' first */
	ck_assert_int_eq(pgorm_object_state(keep), PGORM_STATE_PERSISTENT);
	Node *tmp = node("tmp");
	pgorm_rel_append(s, children, keep, tmp);
	ck_assert_int_eq(pgorm_object_state(tmp), PGORM_STATE_PENDING);
	ck_assert_int_eq(pgorm_session_rollback_nested(s), 0);
	ck_assert_int_eq(pgorm_object_state(tmp), PGORM_STATE_TRANSIENT);
	ck_assert_uint_gt(pgtest_log_count(&log_, "SAVEPOINT"), 0);
	ck_assert_uint_eq(pgtest_log_count(&log_, "ROLLBACK TO SAVEPOINT"), 1);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM nodes"), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM nodes WHERE name = 'keep'"), 1);
}
END_TEST

/* Rows flushed inside a savepoint that is rolled back: inserted objects leave the session
 * (transient), deleted ones come back as persistent — as in SQLAlchemy. */
START_TEST(test_issue_savepoint_rollback_flushed)
{
	Node *a = node("a"), *b = node("b");
	pgorm_session_add(s, a);
	pgorm_session_add(s, b);
	commit_ok();
	int64_t aid = a->id;
	a = get(&node_model, aid);
	ck_assert_int_eq(pgorm_session_begin_nested(s), 0);
	Node *c = node("c");
	pgorm_session_add(s, c);
	ck_assert_int_eq(pgorm_session_delete(s, a), 0);
	flush_ok();                                      /* INSERT c, DELETE a inside the savepoint */
	ck_assert_int_eq(pgorm_object_state(c), PGORM_STATE_PERSISTENT);
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_DELETED);
	ck_assert_int_eq(pgorm_session_rollback_nested(s), 0);
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_PERSISTENT);
	ck_assert_int_eq(pgorm_object_state(c), PGORM_STATE_TRANSIENT);
	ck_assert_int_eq(c->id, 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM nodes"), 2);
	ck_assert_int_eq(q("SELECT count(*) FROM nodes WHERE name = 'c'"), 0);
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_PERSISTENT);
	ck_assert_ptr_eq(get(&node_model, aid), a);
	/* and c can be added again, in a new transaction */
	ck_assert_int_eq(pgorm_session_add(s, c), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM nodes WHERE name = 'c'"), 1);
}
END_TEST

START_TEST(test_savepoint_commit_nested)
{
	const pgorm_rel *children = rel(&node_model, "children");
	Node *p = node("p");
	pgorm_session_add(s, p);
	ck_assert_int_eq(pgorm_session_begin_nested(s), 0);
	pgorm_rel_append(s, children, p, node("k1"));
	ck_assert_int_eq(pgorm_session_commit_nested(s), 0);
	ck_assert_int_eq(pgorm_session_begin_nested(s), 0);
	pgorm_rel_append(s, children, p, node("k2"));
	ck_assert_int_eq(pgorm_session_rollback_nested(s), 0);
	ck_assert_uint_eq(pgtest_log_count(&log_, "ROLLBACK TO SAVEPOINT"), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "RELEASE SAVEPOINT"), 2);   /* commit_nested, and after the rollback to */
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM nodes WHERE parent_id = %lld", (long long)p->id), 1);
	ck_assert_int_eq(q("SELECT count(*) FROM nodes WHERE name = 'k1'"), 1);
	/* unbalanced calls are state errors */
	ck_assert_int_eq(pgorm_session_rollback_nested(s), PGORM_ESTATE);
	ck_assert_int_eq(pgorm_session_commit_nested(s), PGORM_ESTATE);
}
END_TEST

/* A flush failing inside a savepoint rolls back to that savepoint only: the outer
 * transaction's work survives, the error is kept, and pgorm_session_rollback_nested puts the
 * objects the savepoint covered back (inserted -> transient, deleted -> persistent). */
START_TEST(test_issue_savepoint_failed_flush)
{
	const pgorm_rel *children = rel(&node_model, "children");
	Node *old = node("old"), *doomed = node("doomed");
	pgorm_session_add(s, old);
	pgorm_session_add(s, doomed);
	commit_ok();
	int64_t oldid = old->id, doomedid = doomed->id;
	/* outer transaction: one insert, one update, flushed by begin_nested */
	Node *outer = node("outer");
	pgorm_session_add(s, outer);
	old = get(&node_model, oldid);
	old->name = "old-outer";
	ck_assert_int_eq(pgorm_session_begin_nested(s), 0);
	ck_assert_int_eq(pgorm_object_state(outer), PGORM_STATE_PERSISTENT);
	/* inside: a flush that succeeds (insert + delete) ... */
	Node *in1 = node("in1");
	ck_assert_int_eq(pgorm_rel_append(s, children, outer, in1), 0);
	doomed = get(&node_model, doomedid);
	ck_assert_int_eq(pgorm_session_delete(s, doomed), 0);
	flush_ok();
	ck_assert_int_eq(pgorm_object_state(in1), PGORM_STATE_PERSISTENT);
	ck_assert_int_eq(pgorm_object_state(doomed), PGORM_STATE_DELETED);
	/* ... then one that fails: dup takes old's primary key */
	Node *in2 = node("in2"), *dup = node("dup");
	dup->id = oldid;
	pgorm_session_add(s, in2);
	pgorm_session_add(s, dup);
	old->name = "old-inner";
	pgtest_log_clear(&log_);
	ck_assert_int_eq(pgorm_session_flush(s), PGORM_ECONSTRAINT);
	ck_assert_str_eq(pgorm_session_error(s)->sqlstate, "23505");
	ck_assert_str_eq(pgorm_session_error(s)->constraint, "nodes_pkey");
	ck_assert_uint_eq(pgtest_log_count(&log_, "ROLLBACK TO SAVEPOINT"), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "ROLLBACK"), 1);         /* not the whole transaction */
	/* only a rollback is accepted now, and the error is not lost */
	ck_assert_int_eq(pgorm_session_flush(s), PGORM_ESTATE);
	ck_assert_msg(strstr(pgorm_session_error(s)->message, "nodes_pkey") != NULL, "%s", pgorm_session_error(s)->message);
	ck_assert_int_eq(pgorm_session_commit(s), PGORM_ESTATE);
	ck_assert_int_eq(pgorm_session_begin_nested(s), PGORM_ESTATE);
	ck_assert_str_eq(pgorm_session_error(s)->sqlstate, "23505");       /* still the server's error */
	ck_assert_str_eq(pgorm_session_error(s)->constraint, "nodes_pkey");
	ck_assert_int_eq(pgorm_session_rollback_nested(s), 0);
	/* what the savepoint covered is undone, in memory too */
	ck_assert_int_eq(pgorm_object_state(in1), PGORM_STATE_TRANSIENT);
	ck_assert_int_eq(in1->id, 0);
	ck_assert_int_eq(pgorm_object_state(in2), PGORM_STATE_TRANSIENT);
	ck_assert_int_eq(in2->id, 0);                 /* the key from the sequence is reset */
	ck_assert_int_eq(pgorm_object_state(dup), PGORM_STATE_TRANSIENT);
	ck_assert_int_eq(dup->id, oldid);             /* a key the user set stays */
	ck_assert_int_eq(pgorm_object_state(doomed), PGORM_STATE_PERSISTENT);
	ck_assert_int_eq(pgorm_object_state(outer), PGORM_STATE_PERSISTENT);
	ck_assert_int_eq(pgorm_object_state(old), PGORM_STATE_PERSISTENT);
	ck_assert_ptr_eq(get(&node_model, oldid), old);
	ck_assert_str_eq(old->name, "old-outer");      /* expired, reloaded: the outer UPDATE */
	ck_assert_ptr_eq(get(&node_model, doomedid), doomed);
	ck_assert_int_eq(pgorm_rel_load(s, children, outer, NULL), 0);
	ck_assert_uint_eq(outer->children.len, 0);
	/* the session goes on: more work in the same transaction, then commit */
	Node *after = node("after");
	pgorm_session_add(s, after);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM nodes"), 4);
	ck_assert_int_eq(q("SELECT count(*) FROM nodes WHERE name IN ('old-outer', 'doomed', 'outer', 'after')"), 4);
	ck_assert_int_eq(q("SELECT count(*) FROM nodes WHERE name IN ('in1', 'in2', 'dup', 'old-inner')"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM nodes WHERE id = %lld AND name = 'old-outer'", (long long)oldid), 1);
	/* the objects that left can be added again */
	ck_assert_int_eq(pgorm_session_add(s, in2), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM nodes WHERE name = 'in2'"), 1);
}
END_TEST

/* After a flush failed inside a savepoint, a full rollback is accepted too: everything of the
 * transaction is undone, the outer work included; the session is usable afterwards. Nested two
 * deep, the failure rolls back the innermost savepoint only. */
START_TEST(test_issue_savepoint_failed_flush_full_rollback)
{
	Node *old = node("old");
	pgorm_session_add(s, old);
	commit_ok();
	int64_t oldid = old->id;
	Node *outer = node("outer"), *mid = node("mid");
	pgorm_session_add(s, outer);
	ck_assert_int_eq(pgorm_session_begin_nested(s), 0);
	pgorm_session_add(s, mid);
	ck_assert_int_eq(pgorm_session_begin_nested(s), 0);
	Node *dup = node("dup");
	dup->id = oldid;
	pgorm_session_add(s, dup);
	pgtest_log_clear(&log_);
	ck_assert_int_eq(pgorm_session_commit_nested(s), PGORM_ECONSTRAINT);
	ck_assert_uint_eq(pgtest_log_count(&log_, "ROLLBACK TO SAVEPOINT \"pgorm_sp_2\""), 1);
	ck_assert_uint_eq(pgtest_log_count(&log_, "ROLLBACK"), 1);
	/* the outer savepoint and the transaction are still usable: release the inner one ... */
	ck_assert_int_eq(pgorm_session_rollback_nested(s), 0);
	ck_assert_int_eq(pgorm_object_state(dup), PGORM_STATE_TRANSIENT);
	ck_assert_int_eq(pgorm_object_state(mid), PGORM_STATE_PERSISTENT);
	ck_assert_int_eq(pgtest_int(conn, "SELECT count(*) FROM nodes WHERE name IN ('outer', 'mid')"), 2);
	/* ... fail again in the outer savepoint, then roll everything back */
	pgorm_session_add(s, dup);
	ck_assert_int_eq(pgorm_session_flush(s), PGORM_ECONSTRAINT);
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(pgorm_object_state(outer), PGORM_STATE_TRANSIENT);
	ck_assert_int_eq(pgorm_object_state(mid), PGORM_STATE_TRANSIENT);
	ck_assert_int_eq(pgorm_object_state(dup), PGORM_STATE_TRANSIENT);
	ck_assert_int_eq(pgorm_object_state(old), PGORM_STATE_PERSISTENT);
	ck_assert_int_eq(q("SELECT count(*) FROM nodes"), 1);
	ck_assert_int_eq(pgorm_session_rollback_nested(s), PGORM_ESTATE);  /* no savepoint left */
	pgorm_session_add(s, outer);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM nodes WHERE name IN ('old', 'outer')"), 2);
}
END_TEST

/* A lazy many-to-one load on an expired object reads the object's row first (its FK field
 * is stale: another connection may have moved it), then resolves the target; on an object
 * that is not expired the identity map answers without SQL. */
START_TEST(test_issue_lazy_m2o_expired_refresh)
{
	const pgorm_rel *children = rel(&node_model, "children"), *parent = rel(&node_model, "parent");
	Node *p1 = node("p1"), *p2 = node("p2"), *k = node("k");
	ck_assert_int_eq(pgorm_rel_append(s, children, p1, k), 0);
	pgorm_session_add(s, p1);
	pgorm_session_add(s, p2);
	commit_ok();                          /* expire_on_commit: k->parent_id still says p1 */
	char sql[160];
	snprintf(sql, sizeof sql, "UPDATE nodes SET parent_id = %lld WHERE id = %lld", (long long)p2->id, (long long)k->id);
	pgtest_exec(check, sql);
	ck_assert_ptr_eq(get(&node_model, p2->id), p2);  /* p2 reloaded: not expired */
	ck_assert(!pgorm_rel_is_loaded(parent, k));
	pgtest_log_clear(&log_);
	Node *got = NULL;
	ck_assert_int_eq(pgorm_rel_load(s, parent, k, &got), 0);
	ck_assert_ptr_eq(got, p2);
	ck_assert_ptr_eq(k->parent, p2);
	ck_assert_int_eq(k->parent_id, p2->id);
	ck_assert_uint_eq(log_.n, 1);         /* k's row by primary key; p2 from the identity map */
	ck_assert_ptr_nonnull(strstr(log_.sql[0], "FROM \"nodes\" t WHERE t.\"id\" = $1"));
	/* after a rollback (everything expired) the FK is read again: moved back to p1 */
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	snprintf(sql, sizeof sql, "UPDATE nodes SET parent_id = %lld WHERE id = %lld", (long long)p1->id, (long long)k->id);
	pgtest_exec(check, sql);
	pgtest_log_clear(&log_);
	ck_assert_int_eq(pgorm_rel_load(s, parent, k, &got), 0);
	ck_assert_ptr_eq(got, p1);
	ck_assert_int_eq(k->parent_id, p1->id);
	ck_assert_int_ge(log_find("FROM \"nodes\" t WHERE t.\"id\" = $1"), 0);       /* k's row by primary key */
	/* an object that is not expired: no refresh, the identity map answers */
	commit_ok();
	ck_assert_ptr_eq(get(&node_model, p1->id), p1);
	ck_assert_ptr_eq(get(&node_model, k->id), k);
	ck_assert(!pgorm_rel_is_loaded(parent, k));
	pgtest_log_clear(&log_);
	ck_assert_int_eq(pgorm_rel_load(s, parent, k, &got), 0);
	ck_assert_ptr_eq(got, p1);
	ck_assert_uint_eq(log_.n, 0);
	/* to NULL: the refreshed NULL bit answers */
	commit_ok();
	snprintf(sql, sizeof sql, "UPDATE nodes SET parent_id = NULL WHERE id = %lld", (long long)k->id);
	pgtest_exec(check, sql);
	ck_assert_int_eq(pgorm_rel_load(s, parent, k, &got), 0);
	ck_assert_ptr_null(got);
	ck_assert(pgorm_object_is_null(k, "parent_id"));
	/* the row is gone: the load says so and k leaves the session */
	commit_ok();
	snprintf(sql, sizeof sql, "DELETE FROM nodes WHERE id = %lld", (long long)k->id);
	pgtest_exec(check, sql);
	ck_assert_int_eq(pgorm_rel_load(s, parent, k, &got), PGORM_ENOTFOUND);
	ck_assert_int_eq(pgorm_object_state(k), PGORM_STATE_DETACHED);
	commit_ok();
}
END_TEST

/* ================= regressions found by test_random ================= */

/* A change queued on an unloaded collection is undone by rollback (it was merged back in
 * when the collection loaded), and rollback cuts links to objects that became transient. */
START_TEST(test_issue_rollback_queued_changes)
{
	const pgorm_rel *pets = rel(&owner_model, "pets"), *owner = rel(&pet_model, "owner");
	Owner *o = obj_new(&owner_model);
	o->name = "o";
	Pet *a = obj_new(&pet_model);
	a->name = "a";
	pgorm_rel_append(s, pets, o, a);
	pgorm_session_add(s, o);
	commit_ok();                                   /* o's collection is expired (unloaded) */
	Pet *b = obj_new(&pet_model);
	b->name = "b";
	ck_assert_int_eq(pgorm_rel_append(s, pets, o, b), 0);  /* queued */
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	ck_assert_int_eq(pgorm_object_state(b), PGORM_STATE_TRANSIENT);
	void *got = (void *)1;
	ck_assert_int_eq(pgorm_rel_get(s, owner, b, &got), 0);
	pgorm_collection *c = NULL;
	ck_assert_int_eq(pgorm_rel_load(s, pets, o, &c), 0);
	ck_assert_uint_eq(c->len, 1);
	ck_assert_ptr_eq(c->items[0], a);
	/* the transient pet is not pulled back in by a cascade from the owner */
	ck_assert_int_eq(pgorm_session_add(s, o), 0);
	ck_assert_int_eq(pgorm_object_state(b), PGORM_STATE_TRANSIENT);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM pets"), 1);
}
END_TEST

/* A flush with nothing to send (the link was set to the parent it already had) settles the
 * link all the same: the child is not hidden from the next load of the collection. */
START_TEST(test_issue_noop_flush_keeps_link)
{
	const pgorm_rel *children = rel(&node_model, "children"), *parent = rel(&node_model, "parent");
	Node *p = node("p"), *k = node("k");
	pgorm_rel_append(s, children, p, k);
	pgorm_session_add(s, p);
	commit_ok();
	ck_assert(!pgorm_rel_is_loaded(parent, k));
	ck_assert_int_eq(pgorm_rel_set(s, parent, k, p), 0);   /* same parent, link was expired */
	pgtest_log_clear(&log_);
	flush_ok();
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE"), 0);
	commit_ok();
	ck_assert_int_eq(pgorm_rel_load(s, children, p, NULL), 0);
	ck_assert_uint_eq(p->children.len, 1);
	ck_assert_ptr_eq(p->children.items[0], k);
}
END_TEST

/* Rollback discards unflushed column changes of persistent objects: they are not written
 * by a later flush. */
START_TEST(test_issue_rollback_discards_column_changes)
{
	Node *n = node("before");
	pgorm_session_add(s, n);
	commit_ok();
	get(&node_model, n->id);                   /* a transaction is open */
	n->name = "after";
	ck_assert_int_eq(pgorm_session_rollback(s), 0);
	pgtest_log_clear(&log_);
	commit_ok();
	ck_assert_uint_eq(pgtest_log_count(&log_, "UPDATE"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM nodes WHERE name = 'before'"), 1);
	ck_assert_str_eq(((Node *)get(&node_model, n->id))->name, "before");  /* expired: reloaded */
}
END_TEST

/* An object deleted and committed leaves the changes queued on unloaded collections too. */
START_TEST(test_issue_deleted_object_leaves_queued_add)
{
	const pgorm_rel *pets = rel(&owner_model, "pets");
	Owner *o = obj_new(&owner_model);
	o->name = "o";
	pgorm_session_add(s, o);
	commit_ok();
	Pet *a = obj_new(&pet_model);
	a->name = "a";
	ck_assert_int_eq(pgorm_rel_append(s, pets, o, a), 0);  /* queued: o's collection is unloaded */
	flush_ok();
	ck_assert_int_eq(pgorm_session_delete(s, a), 0);
	commit_ok();
	ck_assert_int_eq(pgorm_object_state(a), PGORM_STATE_DETACHED);
	pgorm_collection *c = NULL;
	ck_assert_int_eq(pgorm_rel_load(s, pets, o, &c), 0);
	ck_assert_uint_eq(c->len, 0);
	ck_assert_int_eq(q("SELECT count(*) FROM pets"), 0);
}
END_TEST

/* Setting NULL on a to-one that has no parent in memory nulls the FK but is no orphaning:
 * with delete-orphan the row stays (SQLAlchemy's has_parent is optimistic). */
START_TEST(test_issue_set_null_without_parent_is_no_orphan)
{
	const pgorm_rel *person = rel(&passport_orph, "person");
	pgtest_exec(conn, "INSERT INTO persons_orph (id, name) VALUES (7, 'x')");
	pgtest_exec(conn, "INSERT INTO passports_orph (id, person_id, num) VALUES (1, NULL, 'free'), (2, 7, 'owned')");
	Passport *free_ = get(&passport_orph, 1), *owned = get(&passport_orph, 2);
	ck_assert_int_eq(pgorm_rel_set(s, person, free_, NULL), 0);
	ck_assert_int_eq(pgorm_rel_set(s, person, owned, NULL), 0);   /* link unloaded: FK nulled */
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM passports_orph"), 2);
	ck_assert_int_eq(q("SELECT count(*) FROM passports_orph WHERE person_id IS NULL"), 2);
	/* detaching from a parent known in memory is orphaning: deleted */
	pgtest_exec(conn, "UPDATE passports_orph SET person_id = 7 WHERE id = 2");
	owned = get(&passport_orph, 2);
	ck_assert_int_eq(pgorm_rel_load(s, person, owned, NULL), 0);
	ck_assert_ptr_nonnull(owned->person);
	ck_assert_int_eq(pgorm_rel_set(s, person, owned, NULL), 0);
	commit_ok();
	ck_assert_int_eq(q("SELECT count(*) FROM passports_orph"), 1);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("relationship_shapes");
	TCase *tc = pgtest_tcase(su, "relationship_shapes", 60, setup, teardown);
	tcase_add_test(tc, test_one_to_one_replace_nulls_old);
	tcase_add_test(tc, test_one_to_one_replace_delete_orphan);
	tcase_add_test(tc, test_issue_one_to_one_replace_unloaded);
	tcase_add_test(tc, test_one_to_one_two_rows_is_an_error);
	tcase_add_test(tc, test_backref_header_side);
	tcase_add_test(tc, test_backref_collection_in_header);
	tcase_add_test(tc, test_tree_insert_parents_first);
	tcase_add_test(tc, test_tree_delete_subtree);
	tcase_add_test(tc, test_tree_delete_from_root);
	tcase_add_test(tc, test_tree_cycle_reported);
	tcase_add_test(tc, test_tree_cycle_through_persistent);
	tcase_add_test(tc, test_m2m_both_sides);
	tcase_add_test(tc, test_m2m_net_changes);
	tcase_add_test(tc, test_m2m_load_lazy_and_selectin);
	tcase_add_test(tc, test_m2m_delete_removes_association_rows);
	tcase_add_test(tc, test_version_with_relationships);
	tcase_add_test(tc, test_issue_versioned_tree_delete_order);
	tcase_add_test(tc, test_expunge);
	tcase_add_test(tc, test_merge);
	tcase_add_test(tc, test_refresh);
	tcase_add_test(tc, test_savepoint_rollback_pending);
	tcase_add_test(tc, test_issue_savepoint_rollback_flushed);
	tcase_add_test(tc, test_savepoint_commit_nested);
	tcase_add_test(tc, test_issue_savepoint_failed_flush);
	tcase_add_test(tc, test_issue_savepoint_failed_flush_full_rollback);
	tcase_add_test(tc, test_issue_lazy_m2o_expired_refresh);
	tcase_add_test(tc, test_issue_rollback_queued_changes);
	tcase_add_test(tc, test_issue_noop_flush_keeps_link);
	tcase_add_test(tc, test_issue_rollback_discards_column_changes);
	tcase_add_test(tc, test_issue_deleted_object_leaves_queued_add);
	tcase_add_test(tc, test_issue_set_null_without_parent_is_no_orphan);
	return pgtest_run(su);
}
