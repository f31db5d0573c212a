-- test/tools/old_destructive.sql — gen_schema.sql's customers with a column of another type and
-- a NOT NULL column the models do not have: only destructive changes fix it.
CREATE TABLE customers (
    id bigserial PRIMARY KEY, name text NOT NULL, email varchar(200) UNIQUE, code char(4),
    active bool NOT NULL DEFAULT true, small int2, medium text, big int8, ratio float4, score float8,
    photo bytea, balance numeric(12, 2), born date, seen timestamp, created timestamptz NOT NULL DEFAULT now(),
    token uuid DEFAULT gen_random_uuid(), doc json, docb jsonb,
    extra int4 NOT NULL
);
