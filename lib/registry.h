/* lib/registry.h — the validated, resolved form of the model descriptors. */
#ifndef PGORM_REGISTRY_PRIV_H
#define PGORM_REGISTRY_PRIV_H

#include "pgorm/model.h"

#define PGORM__MAX_COLS 64   /* null/dirty bitmaps are 64-bit */
#define PGORM__MAX_RELS 32   /* relationship bitmaps are 32-bit */
#define PGORM__MAX_PK 8

typedef struct pgorm__model_info pgorm__model_info;

struct pgorm_rel {
	char *name;
	pgorm__model_info *owner;      /* the model that has this attribute */
	pgorm__model_info *target;
	pgorm_rel_kind kind;           /* resolved: never AUTO */
	size_t index;                  /* position in owner->rels */
	size_t offset;                 /* field offset, or PGORM_NO_FIELD */
	size_t slot;                   /* header slot when offset == PGORM_NO_FIELD */
	bool scalar;                   /* to-one: a pointer, not a collection */
	bool hidden;                   /* synthesized reverse side of a one-directional rel */
	/* The foreign key, for ONE_TO_MANY / MANY_TO_ONE: the child holds fk_col, which refers
	 * to ref_col of the parent. child = target for O2M, owner for M2O. */
	size_t fk_col;                 /* fk_cols[0] */
	size_t ref_col;                /* ref_cols[0] */
	size_t nfk;                    /* columns in the key: > 1 for a composite foreign key */
	size_t fk_cols[PGORM__MAX_PK]; /* child columns, in the order of the parent's key */
	size_t ref_cols[PGORM__MAX_PK];
	pgorm_rel *partner;            /* the other side (always set; may be hidden) */
	unsigned cascade;
	pgorm_passive passive;
	unsigned flags;
	pgorm_loader loader;
	long order_col;                /* target column index, -1 none */
	bool order_desc;
	/* MANY_TO_MANY */
	char *sec_table, *sec_local, *sec_remote;  /* copies of the descriptor's names */
	const char *sec_schema;
};

struct pgorm__model_info {
	const pgorm_model *model;
	size_t index;                  /* in the registry's model array */
	size_t topo;                   /* rank: parents before children */
	size_t ncols;
	const pgorm_column *cols;
	size_t npk;
	size_t pk[PGORM__MAX_PK];
	long version_col;              /* -1 when none */
	bool pk_generated;             /* single PK column with PGORM_SERVER_DEFAULT */
	bool self_ref;                 /* has an FK to its own table */
	size_t nrels;
	pgorm_rel **rels;
	size_t nslots;                 /* relationships stored in the object header */
	char *select_list;             /* "t"."a", "t"."b", … (alias "t") */
	char *qtable;                  /* "schema"."table" */
	/* per column, the SQL name of a named type, whose OID each connection looks up (exec.h):
	 * ENUM/CENUM the enum type in the model's schema ("schema"."type", quoted), CUSTOM the
	 * codec's name; NULL for the other columns (col_types itself NULL when there is none) */
	char **col_types;
};

struct pgorm_registry {
	size_t nmodels;
	pgorm__model_info *models;     /* in the caller's order */
	size_t *topo_order;            /* model indexes, parents first */
	size_t nrels_total;
	pgorm_rel *rel_storage;        /* synthesized relationships live in model rels arrays */
	const char **type_names;       /* every distinct col_types name (told to connections) */
	size_t ntypes;
};

pgorm__model_info *pgorm__registry_info(const pgorm_registry *reg, const pgorm_model *m);
long pgorm__model_col(const pgorm__model_info *mi, const char *name);
/* Expected C size of a column type, 0 when not a column type; *align (may be NULL) gets its
 * alignment. */
size_t pgorm__type_csize(pgorm_type t, size_t *align);

#endif
