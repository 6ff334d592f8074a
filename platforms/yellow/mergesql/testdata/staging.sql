-- COPY of a snapshot ingest
COPY "test_dp"."test_dp_store1_people_staging" ("id", "firstName", "lastName", "dob", "employer", "ds_surf_batch_id", "ds_surf_all_hash", "ds_surf_key_hash") FROM STDIN;

-- clear staging [7]
DELETE FROM "test_dp"."test_dp_store1_people_staging" WHERE "ds_surf_batch_id" = $1::integer;

-- prune staging [7 50]
DELETE FROM "test_dp"."test_dp_store1_people_staging" WHERE "ds_surf_batch_id" < $1::integer - $2::integer;

-- truncate cdc load
TRUNCATE "test_dp"."test_dp_store1_people_cdcload";

-- analyze staging
ANALYZE "test_dp"."test_dp_store1_people_staging";

-- conflate cdc [7]
INSERT INTO "test_dp"."test_dp_store1_people_staging" ("id", "firstName", "lastName", "dob", "employer", "ds_surf_batch_id", "ds_surf_all_hash", "ds_surf_key_hash", "ds_surf_iud", "ds_surf_pos")
SELECT DISTINCT ON (l."ds_surf_key_hash") l."id", l."firstName", l."lastName", l."dob", l."employer", l."ds_surf_batch_id", l."ds_surf_all_hash", l."ds_surf_key_hash", l."ds_surf_iud", l."ds_surf_pos"
FROM "test_dp"."test_dp_store1_people_cdcload" l
WHERE l."ds_surf_batch_id" = $1::integer
ORDER BY l."ds_surf_key_hash", l."ds_surf_pos" DESC;

-- remove duplicates [7]
DELETE FROM "test_dp"."test_dp_store1_people_staging" WHERE ctid IN (
  SELECT d.ctid FROM (SELECT s.ctid, row_number() OVER (PARTITION BY s."ds_surf_key_hash") AS n
                      FROM "test_dp"."test_dp_store1_people_staging" s WHERE s."ds_surf_batch_id" = $1::integer) d
  WHERE d.n > 1);

-- stage transformer output [7]
INSERT INTO "test_dp"."test_dp_store1_people_staging" ("id", "firstName", "lastName", "dob", "employer", "ds_surf_batch_id", "ds_surf_all_hash", "ds_surf_key_hash")
SELECT o."id", o."firstName", o."lastName", o."dob", o."employer", $1::integer,
  sha256(coalesce(int4send(length(convert_to("o"."dob"::date::text, 'UTF8'))) || convert_to("o"."dob"::date::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("o"."employer"::character varying(50)::text, 'UTF8'))) || convert_to("o"."employer"::character varying(50)::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("o"."firstName"::character varying(50)::text, 'UTF8'))) || convert_to("o"."firstName"::character varying(50)::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("o"."id"::integer::text, 'UTF8'))) || convert_to("o"."id"::integer::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("o"."lastName"::character varying(50)::text, 'UTF8'))) || convert_to("o"."lastName"::character varying(50)::text, 'UTF8'), '\xffffffff'::bytea)),
  sha256(coalesce(int4send(length(convert_to("o"."id"::integer::text, 'UTF8'))) || convert_to("o"."id"::integer::text, 'UTF8'), '\xffffffff'::bytea))
FROM "test_dp_dt_masking"."test_dp_dt_store1_people" o;

