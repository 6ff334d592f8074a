-- remote committed batch [Store1]
SELECT coalesce(max(batch_id), 0) FROM "yellowforensic"."yellowforensic_batch_metrics" WHERE key = $1 AND batch_status = 'committed';

-- remote live seed [5 2]
SELECT m."id", m."firstName", m."lastName", m."dob", m."employer", $2::integer, m."ds_surf_all_hash", m."ds_surf_key_hash", 'U'::character(1)
FROM "yellowforensic"."yellowforensic_store1_people_merge" m
WHERE m."ds_surf_batch_in" <= $1::integer AND m."ds_surf_batch_out" >= $1::integer;

-- remote live incremental [3 5 2]
WITH changed AS (
  SELECT DISTINCT c."ds_surf_key_hash" FROM "yellowforensic"."yellowforensic_store1_people_merge" c
  WHERE (c."ds_surf_batch_in" > $1::integer AND c."ds_surf_batch_in" <= $2::integer)
     OR (c."ds_surf_batch_out" BETWEEN $1::integer AND $2::integer - 1)
), v AS (
  SELECT DISTINCT ON (m."ds_surf_key_hash") m."id", m."firstName", m."lastName", m."dob", m."employer", m."ds_surf_all_hash", m."ds_surf_key_hash",
         m."ds_surf_batch_out" >= $2::integer AS ds_surf_live
  FROM "yellowforensic"."yellowforensic_store1_people_merge" m JOIN changed ON changed."ds_surf_key_hash" = m."ds_surf_key_hash"
  WHERE m."ds_surf_batch_in" <= $2::integer
  ORDER BY m."ds_surf_key_hash", m."ds_surf_batch_in" DESC
)
SELECT v."id", CASE WHEN v.ds_surf_live THEN v."firstName" END AS "firstName", CASE WHEN v.ds_surf_live THEN v."lastName" END AS "lastName", CASE WHEN v.ds_surf_live THEN v."dob" END AS "dob", CASE WHEN v.ds_surf_live THEN v."employer" END AS "employer", $3::integer, v."ds_surf_all_hash", v."ds_surf_key_hash",
       CASE WHEN v.ds_surf_live THEN 'U' ELSE 'D' END::character(1)
FROM v;

-- remote forensic seed [5]
SELECT m."id", m."firstName", m."lastName", m."dob", m."employer", $1::integer, m."ds_surf_all_hash", m."ds_surf_key_hash", m."ds_surf_batch_in", CASE WHEN m."ds_surf_batch_out" >= $1::integer THEN 2147483647 ELSE m."ds_surf_batch_out" END
FROM "yellowforensic"."yellowforensic_store1_people_merge" m
WHERE m."ds_surf_batch_in" <= $1::integer;

-- remote forensic incremental [3 5]
SELECT m."id", m."firstName", m."lastName", m."dob", m."employer", $2::integer, m."ds_surf_all_hash", m."ds_surf_key_hash", m."ds_surf_batch_in", CASE WHEN m."ds_surf_batch_out" >= $2::integer THEN 2147483647 ELSE m."ds_surf_batch_out" END
FROM "yellowforensic"."yellowforensic_store1_people_merge" m
WHERE (m."ds_surf_batch_in" > $1::integer AND m."ds_surf_batch_in" <= $2::integer)
   OR (m."ds_surf_batch_out" BETWEEN $1::integer AND $2::integer - 1);

