CREATE TABLE "test_dp"."test_dp_store1_events_merge" (
  "id" integer NOT NULL,
  "firstName" character varying(50) NOT NULL,
  "lastName" character varying(50) COLLATE "C",
  "dob" date,
  "balance" numeric(12,2),
  "tags" character varying(20)[],
  "ds_surf_batch_id" integer NOT NULL,
  "ds_surf_all_hash" bytea NOT NULL,
  "ds_surf_key_hash" bytea NOT NULL
);
CREATE UNIQUE INDEX "test_dp_store1_events_merge_key" ON "test_dp"."test_dp_store1_events_merge" ("ds_surf_key_hash");
COMMENT ON TABLE "test_dp"."test_dp_store1_events_merge" IS 'datasurface:managed kind=merge platform=Test_DP dataset=Store1.events';
