CREATE TABLE "test_dp"."test_dp_store1_events_merge" (
  "id" integer NOT NULL,
  "firstName" character varying(50) NOT NULL,
  "lastName" character varying(50) COLLATE "C",
  "dob" date,
  "balance" numeric(12,2),
  "tags" character varying(20)[],
  "ds_surf_all_hash" bytea NOT NULL,
  "ds_surf_key_hash" bytea NOT NULL,
  "ds_surf_batch_in" integer NOT NULL,
  "ds_surf_batch_out" integer DEFAULT 2147483647 NOT NULL
);
CREATE UNIQUE INDEX "test_dp_store1_events_merge_key_in" ON "test_dp"."test_dp_store1_events_merge" ("ds_surf_key_hash", "ds_surf_batch_in");
CREATE UNIQUE INDEX "test_dp_store1_events_merge_live_key" ON "test_dp"."test_dp_store1_events_merge" ("ds_surf_key_hash") WHERE "ds_surf_batch_out" = 2147483647;
CREATE INDEX "test_dp_store1_events_merge_batch_in" ON "test_dp"."test_dp_store1_events_merge" ("ds_surf_batch_in");
CREATE INDEX "test_dp_store1_events_merge_batch_out" ON "test_dp"."test_dp_store1_events_merge" ("ds_surf_batch_out");
COMMENT ON TABLE "test_dp"."test_dp_store1_events_merge" IS 'datasurface:managed kind=merge platform=Test_DP dataset=Store1.events';
