-- close changed → updated [7]
UPDATE "test_dp"."test_dp_store1_people_merge" m
SET "ds_surf_batch_out" = $1::integer - 1
FROM "test_dp"."test_dp_store1_people_staging" s
WHERE s."ds_surf_batch_id" = $1::integer
  AND m."ds_surf_key_hash" = s."ds_surf_key_hash"
  AND m."ds_surf_batch_out" = 2147483647
  AND m."ds_surf_all_hash" <> s."ds_surf_all_hash";

-- close deleted → deleted [7]
UPDATE "test_dp"."test_dp_store1_people_merge" m
SET "ds_surf_batch_out" = $1::integer - 1
WHERE m."ds_surf_batch_out" = 2147483647
  AND NOT EXISTS (SELECT 1 FROM "test_dp"."test_dp_store1_people_staging" s WHERE s."ds_surf_batch_id" = $1::integer AND m."ds_surf_key_hash" = s."ds_surf_key_hash");

-- insert new → inserted [7]
INSERT INTO "test_dp"."test_dp_store1_people_merge" ("id", "firstName", "lastName", "dob", "employer", "ds_surf_all_hash", "ds_surf_key_hash", "ds_surf_batch_in", "ds_surf_batch_out")
SELECT s."id", s."firstName", s."lastName", s."dob", s."employer", s."ds_surf_all_hash", s."ds_surf_key_hash", $1::integer, 2147483647
FROM "test_dp"."test_dp_store1_people_staging" s
WHERE s."ds_surf_batch_id" = $1::integer
  AND NOT EXISTS (SELECT 1 FROM "test_dp"."test_dp_store1_people_merge" m WHERE m."ds_surf_key_hash" = s."ds_surf_key_hash" AND m."ds_surf_batch_out" IN (2147483647, $1::integer - 1));

-- insert changed versions [7]
INSERT INTO "test_dp"."test_dp_store1_people_merge" ("id", "firstName", "lastName", "dob", "employer", "ds_surf_all_hash", "ds_surf_key_hash", "ds_surf_batch_in", "ds_surf_batch_out")
SELECT s."id", s."firstName", s."lastName", s."dob", s."employer", s."ds_surf_all_hash", s."ds_surf_key_hash", $1::integer, 2147483647
FROM "test_dp"."test_dp_store1_people_staging" s
WHERE s."ds_surf_batch_id" = $1::integer
  AND EXISTS (SELECT 1 FROM "test_dp"."test_dp_store1_people_merge" m WHERE m."ds_surf_key_hash" = s."ds_surf_key_hash" AND m."ds_surf_batch_out" = $1::integer - 1)
  AND NOT EXISTS (SELECT 1 FROM "test_dp"."test_dp_store1_people_merge" m WHERE m."ds_surf_key_hash" = s."ds_surf_key_hash" AND m."ds_surf_batch_in" = $1::integer);

