CREATE TABLE "test_dp"."test_dp_store1_people_staging" (
  "id" integer NOT NULL,
  "firstName" character varying(50),
  "lastName" character varying(50) COLLATE "C",
  "dob" date,
  "balance" numeric(12,2),
  "tags" character varying(20)[],
  "ds_surf_batch_id" integer NOT NULL,
  "ds_surf_all_hash" bytea NOT NULL,
  "ds_surf_key_hash" bytea NOT NULL,
  "ds_surf_remote_batch_in" integer NOT NULL,
  "ds_surf_remote_batch_out" integer NOT NULL
);
CREATE UNIQUE INDEX "test_dp_store1_people_staging_batch_key" ON "test_dp"."test_dp_store1_people_staging" ("ds_surf_batch_id", "ds_surf_key_hash", "ds_surf_remote_batch_in");
COMMENT ON TABLE "test_dp"."test_dp_store1_people_staging" IS 'datasurface:managed kind=staging platform=Test_DP dataset=Store1.people';
