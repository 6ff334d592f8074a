CREATE UNLOGGED TABLE "test_dp"."test_dp_store1_people_cdcload" (
  "id" integer NOT NULL,
  "firstName" character varying(50),
  "lastName" character varying(50) COLLATE "C",
  "dob" date,
  "balance" numeric(12,2),
  "tags" character varying(20)[],
  "ds_surf_batch_id" integer NOT NULL,
  "ds_surf_all_hash" bytea NOT NULL,
  "ds_surf_key_hash" bytea NOT NULL,
  "ds_surf_iud" character(1) NOT NULL,
  "ds_surf_pos" bigint[] NOT NULL,
  "ds_surf_kafka_topic" text,
  "ds_surf_kafka_partition" integer,
  "ds_surf_kafka_offset" bigint
);
COMMENT ON TABLE "test_dp"."test_dp_store1_people_cdcload" IS 'datasurface:managed kind=cdcload platform=Test_DP dataset=Store1.people';
