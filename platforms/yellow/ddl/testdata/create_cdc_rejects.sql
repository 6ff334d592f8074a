CREATE TABLE "test_dp"."test_dp_cdc_rejects" (
  "key" character varying(300) NOT NULL,
  "batch_id" integer NOT NULL,
  "topic" text NOT NULL,
  "kafka_partition" integer NOT NULL,
  "kafka_offset" bigint NOT NULL,
  "reason" text NOT NULL,
  "payload" bytea,
  "rejected_at" timestamp with time zone NOT NULL,
  CONSTRAINT "test_dp_cdc_rejects_pk" PRIMARY KEY ("key", "topic", "kafka_partition", "kafka_offset")
);
COMMENT ON TABLE "test_dp"."test_dp_cdc_rejects" IS 'datasurface:managed kind=cdc_rejects platform=Test_DP';
