-- missing table
CREATE TABLE "test_dp"."test_dp_store1_people_merge" (
  "id" integer NOT NULL,
  "firstName" character varying(50) NOT NULL,
  "lastName" character varying(50) COLLATE "C",
  "dob" date,
  "balance" numeric(12,2),
  "tags" character varying(20)[],
  "ds_surf_batch_id" integer NOT NULL,
  "ds_surf_all_hash" bytea NOT NULL,
  "ds_surf_key_hash" bytea NOT NULL,
  CONSTRAINT "test_dp_store1_people_merge_pk" PRIMARY KEY ("id")
);
CREATE UNIQUE INDEX "test_dp_store1_people_merge_key" ON "test_dp"."test_dp_store1_people_merge" ("ds_surf_key_hash");
COMMENT ON TABLE "test_dp"."test_dp_store1_people_merge" IS 'datasurface:managed kind=merge platform=Test_DP dataset=Store1.people';

-- up to date live

-- up to date forensic

-- up to date bookkeeping

-- synonym spellings are equal

-- add nullable column
ALTER TABLE "test_dp"."test_dp_store1_people_merge"
  ADD COLUMN "email" character varying(100);
UPDATE "test_dp"."test_dp_store1_people_merge" SET "ds_surf_all_hash" = sha256(coalesce(int4send(length(convert_to("balance"::numeric(12,2)::text, 'UTF8'))) || convert_to("balance"::numeric(12,2)::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("dob"::date::text, 'UTF8'))) || convert_to("dob"::date::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("email"::character varying(100)::text, 'UTF8'))) || convert_to("email"::character varying(100)::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("firstName"::character varying(50)::text, 'UTF8'))) || convert_to("firstName"::character varying(50)::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("id"::integer::text, 'UTF8'))) || convert_to("id"::integer::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("lastName"::character varying(50)::text, 'UTF8'))) || convert_to("lastName"::character varying(50)::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("tags"::character varying(20)[]::text, 'UTF8'))) || convert_to("tags"::character varying(20)[]::text, 'UTF8'), '\xffffffff'::bytea)) WHERE "ds_surf_batch_out" = 2147483647;

-- widen with managed view
DROP VIEW "test_dp_w"."test_dp_w_g_store1_people_view_live";
ALTER TABLE "test_dp"."test_dp_store1_people_merge"
  ALTER COLUMN "firstName" TYPE character varying(50) USING "firstName"::character varying(50),
  ALTER COLUMN "balance" TYPE numeric(12,2) USING "balance"::numeric(12,2);
UPDATE "test_dp"."test_dp_store1_people_merge" SET "ds_surf_all_hash" = sha256(coalesce(int4send(length(convert_to("balance"::numeric(12,2)::text, 'UTF8'))) || convert_to("balance"::numeric(12,2)::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("dob"::date::text, 'UTF8'))) || convert_to("dob"::date::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("firstName"::character varying(50)::text, 'UTF8'))) || convert_to("firstName"::character varying(50)::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("id"::integer::text, 'UTF8'))) || convert_to("id"::integer::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("lastName"::character varying(50)::text, 'UTF8'))) || convert_to("lastName"::character varying(50)::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("tags"::character varying(20)[]::text, 'UTF8'))) || convert_to("tags"::character varying(20)[]::text, 'UTF8'), '\xffffffff'::bytea));

-- widen key column
ALTER TABLE "test_dp"."test_dp_store1_people_merge"
  ALTER COLUMN "id" TYPE integer USING "id"::integer;
UPDATE "test_dp"."test_dp_store1_people_merge" SET "ds_surf_key_hash" = sha256(coalesce(int4send(length(convert_to("id"::integer::text, 'UTF8'))) || convert_to("id"::integer::text, 'UTF8'), '\xffffffff'::bytea));
UPDATE "test_dp"."test_dp_store1_people_merge" SET "ds_surf_all_hash" = sha256(coalesce(int4send(length(convert_to("balance"::numeric(12,2)::text, 'UTF8'))) || convert_to("balance"::numeric(12,2)::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("dob"::date::text, 'UTF8'))) || convert_to("dob"::date::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("firstName"::character varying(50)::text, 'UTF8'))) || convert_to("firstName"::character varying(50)::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("id"::integer::text, 'UTF8'))) || convert_to("id"::integer::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("lastName"::character varying(50)::text, 'UTF8'))) || convert_to("lastName"::character varying(50)::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("tags"::character varying(20)[]::text, 'UTF8'))) || convert_to("tags"::character varying(20)[]::text, 'UTF8'), '\xffffffff'::bytea)) WHERE "ds_surf_batch_out" = 2147483647;

-- view on other columns is kept
ALTER TABLE "test_dp"."test_dp_store1_people_merge"
  ALTER COLUMN "firstName" TYPE character varying(50) USING "firstName"::character varying(50);
UPDATE "test_dp"."test_dp_store1_people_merge" SET "ds_surf_all_hash" = sha256(coalesce(int4send(length(convert_to("balance"::numeric(12,2)::text, 'UTF8'))) || convert_to("balance"::numeric(12,2)::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("dob"::date::text, 'UTF8'))) || convert_to("dob"::date::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("firstName"::character varying(50)::text, 'UTF8'))) || convert_to("firstName"::character varying(50)::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("id"::integer::text, 'UTF8'))) || convert_to("id"::integer::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("lastName"::character varying(50)::text, 'UTF8'))) || convert_to("lastName"::character varying(50)::text, 'UTF8'), '\xffffffff'::bytea) || coalesce(int4send(length(convert_to("tags"::character varying(20)[]::text, 'UTF8'))) || convert_to("tags"::character varying(20)[]::text, 'UTF8'), '\xffffffff'::bytea));

-- unmanaged view blocks widening
-- error: reconcile test_dp.test_dp_store1_people_merge: view x.hand_made, which is not managed by platform Test_DP, depends on a column to alter

-- narrowing
-- error: reconcile test_dp.test_dp_store1_people_merge column "firstName": physical type character varying(80) cannot be changed to character varying(50) (not a widening)

-- type change
-- error: reconcile test_dp.test_dp_store1_people_merge column "dob": physical type text cannot be changed to date (not a widening)

-- collation change
-- error: reconcile test_dp.test_dp_store1_people_merge column "lastName": collation "" differs from the model's "C"

-- column left the model
ALTER TABLE "test_dp"."test_dp_store1_people_merge"
  ALTER COLUMN "legacy" DROP NOT NULL;

-- model column became nullable
ALTER TABLE "test_dp"."test_dp_store1_people_merge"
  ALTER COLUMN "firstName" DROP NOT NULL;

-- primary key differs
-- error: reconcile test_dp.test_dp_store1_people_merge: primary key (id, firstName) differs from the model's (id); keys are never altered

-- primary key missing
-- error: reconcile test_dp.test_dp_store1_people_merge: the model's primary key (id) is missing; keys are never altered

-- missing index is created
CREATE INDEX "test_dp_store1_people_merge_batch_out" ON "test_dp"."test_dp_store1_people_merge" ("ds_surf_batch_out");

-- unique index differs
-- error: reconcile test_dp.test_dp_store1_people_merge: index test_dp_store1_people_merge_live_key is (ds_surf_key_hash) unique=true where "", want (ds_surf_key_hash) unique=true where "\"ds_surf_batch_out\" = 2147483647"

-- unmanaged table
-- error: reconcile test_dp.test_dp_store1_people_merge: the table exists but is not managed by platform Test_DP (comment "")

