CREATE TABLE "test_dp_dt_masking"."test_dp_dt_store1_people" (
  "id" integer NOT NULL,
  "firstName" character varying(50) NOT NULL,
  "lastName" character varying(50) COLLATE "C",
  "dob" date,
  "balance" numeric(12,2),
  "tags" character varying(20)[]
);
COMMENT ON TABLE "test_dp_dt_masking"."test_dp_dt_store1_people" IS 'datasurface:managed kind=transformer_output platform=Test_DP workspace=Masking dataset=Store1.people';
