CREATE TABLE "test_dp"."test_dp_batch_counter" (
  "key" character varying(300) NOT NULL,
  "current_batch" integer NOT NULL,
  CONSTRAINT "test_dp_batch_counter_pk" PRIMARY KEY ("key")
);
COMMENT ON TABLE "test_dp"."test_dp_batch_counter" IS 'datasurface:managed kind=batch_counter platform=Test_DP';
