CREATE TABLE "test_dp"."test_dp_transformer_runs" (
  "workspace" character varying(128) NOT NULL,
  "run_id" bigint NOT NULL,
  "status" character varying(16) NOT NULL,
  "started_at" timestamp with time zone NOT NULL,
  "ended_at" timestamp with time zone,
  "inputs" jsonb,
  "rows" jsonb,
  "error" text,
  CONSTRAINT "test_dp_transformer_runs_pk" PRIMARY KEY ("workspace", "run_id"),
  CONSTRAINT "test_dp_transformer_runs_status" CHECK ("status" IN ('running', 'succeeded', 'failed', 'waiting'))
);
COMMENT ON TABLE "test_dp"."test_dp_transformer_runs" IS 'datasurface:managed kind=transformer_runs platform=Test_DP';
