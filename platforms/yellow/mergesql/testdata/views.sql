-- live-only live view
CREATE OR REPLACE VIEW "test_dp_w"."test_dp_w_g_store1_people_view_live" AS
SELECT m."id", m."firstName", CAST(NULL AS character varying(50)) AS "lastName", CAST(NULL AS date) AS "dob", m."employer"
FROM "test_dp"."test_dp_store1_people_merge" m;
COMMENT ON VIEW "test_dp_w"."test_dp_w_g_store1_people_view_live" IS 'datasurface:managed kind=view platform=Test_DP workspace=W dsg=G dataset=Store1.people def=d090cfb9b346ef7d49e7eeafd50d064551f5d4b07dfb8c4e2c9dd8ed92427923';

-- forensic live view
CREATE OR REPLACE VIEW "test_dp_w"."test_dp_w_g_store1_people_view_live" AS
SELECT m."id", m."firstName", CAST(NULL AS character varying(50)) AS "lastName", CAST(NULL AS date) AS "dob", m."employer"
FROM "test_dp"."test_dp_store1_people_merge" m
WHERE m."ds_surf_batch_out" = 2147483647;
COMMENT ON VIEW "test_dp_w"."test_dp_w_g_store1_people_view_live" IS 'datasurface:managed kind=view platform=Test_DP workspace=W dsg=G dataset=Store1.people def=2d59168b838ffd1914381a4a1c321b67749199ec9d54ecd3c79b4a2c8e48e9a6';

-- forensic full view
CREATE OR REPLACE VIEW "test_dp_w"."test_dp_w_g_store1_people_view_full" AS
SELECT m."id", m."firstName", CAST(NULL AS character varying(50)) AS "lastName", CAST(NULL AS date) AS "dob", m."employer", m."ds_surf_batch_in", m."ds_surf_batch_out"
FROM "test_dp"."test_dp_store1_people_merge" m;
COMMENT ON VIEW "test_dp_w"."test_dp_w_g_store1_people_view_full" IS 'datasurface:managed kind=view platform=Test_DP workspace=W dsg=G dataset=Store1.people def=52ee85738500da96c29d743100124915fb83b47a90cf67d1a41676b421a06ff9 decommissioning=true';

