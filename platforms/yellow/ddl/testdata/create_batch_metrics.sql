CREATE TABLE "test_dp"."test_dp_batch_metrics" (
  "key" character varying(300) NOT NULL,
  "batch_id" integer NOT NULL,
  "batch_status" character varying(16) NOT NULL,
  "batch_start_time" timestamp with time zone NOT NULL,
  "batch_end_time" timestamp with time zone,
  "records_inserted" bigint,
  "records_updated" bigint,
  "records_deleted" bigint,
  "total_records" bigint,
  "state" jsonb NOT NULL,
  CONSTRAINT "test_dp_batch_metrics_pk" PRIMARY KEY ("key", "batch_id"),
  CONSTRAINT "test_dp_batch_metrics_status" CHECK ("batch_status" IN ('started', 'ingested', 'committed', 'failed'))
);
COMMENT ON TABLE "test_dp"."test_dp_batch_metrics" IS 'datasurface:managed kind=batch_metrics platform=Test_DP';
