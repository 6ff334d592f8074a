-- clear mirror
DELETE FROM "test_dp"."test_dp_store1_people_merge";

-- copy versions → inserted [7]
INSERT INTO "test_dp"."test_dp_store1_people_merge" ("id", "firstName", "lastName", "dob", "employer", "ds_surf_all_hash", "ds_surf_key_hash", "ds_surf_batch_in", "ds_surf_batch_out")
SELECT s."id", s."firstName", s."lastName", s."dob", s."employer", s."ds_surf_all_hash", s."ds_surf_key_hash", s."ds_surf_remote_batch_in", s."ds_surf_remote_batch_out"
FROM "test_dp"."test_dp_store1_people_staging" s
WHERE s."ds_surf_batch_id" = $1::integer;

