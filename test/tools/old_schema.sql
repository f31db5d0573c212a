-- test/tools/old_schema.sql — an older version of test/tools/gen_schema.sql, with rows, for
-- `pgorm-gen diff` (test/tools/test_gen.sh): columns, foreign keys, a unique constraint, a key
-- sequence, indexes and whole tables are missing; only additive changes are needed.
CREATE TABLE customers (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    active bool NOT NULL DEFAULT true,
    created timestamptz NOT NULL DEFAULT now(),
    legacy text                            -- not in the models: its DROP stays a comment
);
INSERT INTO customers (name) VALUES ('old');
CREATE TABLE orders (id serial PRIMARY KEY, customer_id int8 NOT NULL);
INSERT INTO orders (customer_id) VALUES (1);
CREATE TABLE tags (id int8 PRIMARY KEY, label text NOT NULL);
INSERT INTO tags VALUES (7, 'old');
