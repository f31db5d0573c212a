-- bench/schema.sql — the benchmark data set, recreated by scripts/bench before each program.
--   parent  10,000 rows: id 1..10000, name 'parent-<id>'
--   child  100,000 rows: id 1..100000, parent_id (id - 1) / 10 + 1 (10 per parent),
--                        name 'child-<id>', value id / 3.0; index on parent_id
-- Keys are bigserial: explicit ids are used for the canonical rows (sequences are moved past
-- them), generated ids for the "new graph" workload.
-- Other sizes (bench/scaling): psql -v nchild=N (a multiple of 10; parents N / 10).
\if :{?nchild}
\else
\set nchild 100000
\endif
SET client_min_messages = warning;
DROP TABLE IF EXISTS child;
DROP TABLE IF EXISTS parent;
CREATE TABLE parent (id bigserial PRIMARY KEY, name text NOT NULL);
CREATE TABLE child (id bigserial PRIMARY KEY,
                    parent_id bigint NOT NULL REFERENCES parent(id),
                    name text NOT NULL,
                    value double precision NOT NULL);
CREATE INDEX child_parent_id_idx ON child (parent_id);
INSERT INTO parent SELECT g, 'parent-' || g FROM generate_series(1, :nchild / 10) g;
INSERT INTO child SELECT g, (g - 1) / 10 + 1, 'child-' || g, g / 3.0::float8
  FROM generate_series(1, :nchild) g;
SELECT setval('parent_id_seq', greatest(1000000, :nchild)), setval('child_id_seq', greatest(10000000, 10 * :nchild));
VACUUM ANALYZE parent;
VACUUM ANALYZE child;
