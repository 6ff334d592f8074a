-- insert new → inserted [7]
INSERT INTO "test_dp"."test_dp_store1_people_merge" ("id", "firstName", "lastName", "dob", "employer", "ds_surf_all_hash", "ds_surf_key_hash", "ds_surf_batch_id")
SELECT s."id", s."firstName", s."lastName", s."dob", s."employer", s."ds_surf_all_hash", s."ds_surf_key_hash", $1::integer
FROM "test_dp"."test_dp_store1_people_staging" s
WHERE s."ds_surf_batch_id" = $1::integer
  AND NOT EXISTS (SELECT 1 FROM "test_dp"."test_dp_store1_people_merge" m WHERE m."ds_surf_key_hash" = s."ds_surf_key_hash");

-- update changed → updated [7]
UPDATE "test_dp"."test_dp_store1_people_merge" m
SET ("id", "firstName", "lastName", "dob", "employer", "ds_surf_all_hash", "ds_surf_batch_id") =
    (s."id", s."firstName", s."lastName", s."dob", s."employer", s."ds_surf_all_hash", $1::integer)
FROM "test_dp"."test_dp_store1_people_staging" s
WHERE s."ds_surf_batch_id" = $1::integer
  AND m."ds_surf_key_hash" = s."ds_surf_key_hash"
  AND m."ds_surf_all_hash" <> s."ds_surf_all_hash";

-- delete missing → deleted [7]
DELETE FROM "test_dp"."test_dp_store1_people_merge" m
WHERE NOT EXISTS (SELECT 1 FROM "test_dp"."test_dp_store1_people_staging" s WHERE s."ds_surf_batch_id" = $1::integer AND m."ds_surf_key_hash" = s."ds_surf_key_hash");

