CREATE SCHEMA IF NOT EXISTS "test_dp" AUTHORIZATION "test_dp_owner";
COMMENT ON SCHEMA "test_dp" IS 'datasurface:managed kind=platform platform=Test_DP';
