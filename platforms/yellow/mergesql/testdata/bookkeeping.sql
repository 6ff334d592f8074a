-- lock stream [7959648852428326112]
SELECT pg_catalog.pg_try_advisory_lock($1::bigint);

-- unlock stream [7959648852428326112]
SELECT pg_catalog.pg_advisory_unlock($1::bigint);

-- ensure counter [Store1#people]
INSERT INTO "test_dp"."test_dp_batch_counter" (key, current_batch) VALUES ($1, 0) ON CONFLICT (key) DO NOTHING;

-- lock counter [Store1#people]
SELECT current_batch FROM "test_dp"."test_dp_batch_counter" WHERE key = $1 FOR UPDATE;

-- set counter [Store1#people 7]
UPDATE "test_dp"."test_dp_batch_counter" SET current_batch = $2 WHERE key = $1;

-- batch state [Store1#people 7]
SELECT batch_status, state FROM "test_dp"."test_dp_batch_metrics" WHERE key = $1 AND batch_id = $2 FOR UPDATE;

-- start batch [Store1#people 7 {"v":1}]
INSERT INTO "test_dp"."test_dp_batch_metrics" (key, batch_id, batch_status, batch_start_time, state)
VALUES ($1, $2, 'started', now(), $3::jsonb);

-- restart batch [Store1#people 7 {"v":1}]
UPDATE "test_dp"."test_dp_batch_metrics"
SET batch_status = 'started', batch_end_time = NULL, records_inserted = NULL, records_updated = NULL,
    records_deleted = NULL, total_records = NULL, state = $3::jsonb
WHERE key = $1 AND batch_id = $2 AND batch_status IN ('started', 'ingested', 'failed');

-- mark ingested [Store1#people 7 100 {"v":1}]
UPDATE "test_dp"."test_dp_batch_metrics" SET batch_status = 'ingested', total_records = $3, state = $4::jsonb
WHERE key = $1 AND batch_id = $2 AND batch_status = 'started';

-- mark committed [Store1#people 7 1 2 3 {"v":1}]
UPDATE "test_dp"."test_dp_batch_metrics"
SET batch_status = 'committed', batch_end_time = now(), records_inserted = $3, records_updated = $4,
    records_deleted = $5, state = $6::jsonb
WHERE key = $1 AND batch_id = $2 AND batch_status = 'ingested';

-- mark failed [Store1#people 7 {"v":1}]
UPDATE "test_dp"."test_dp_batch_metrics" SET batch_status = 'failed', batch_end_time = now(), state = $3::jsonb
WHERE key = $1 AND batch_id = $2 AND batch_status IN ('started', 'ingested');

-- last committed [Store1#people]
SELECT batch_id, state FROM "test_dp"."test_dp_batch_metrics" WHERE key = $1 AND batch_status = 'committed'
ORDER BY batch_id DESC LIMIT 1;

-- consecutive failures [Store1#people]
SELECT coalesce((SELECT CASE WHEN m.batch_status = 'failed' THEN (m.state->>'attempt')::integer ELSE 0 END
  FROM "test_dp"."test_dp_batch_metrics" m JOIN "test_dp"."test_dp_batch_counter" c ON c.key = m.key AND c.current_batch = m.batch_id
  WHERE m.key = $1), 0);

-- next run id [W]
SELECT coalesce(max(run_id), 0) + 1 FROM "test_dp"."test_dp_transformer_runs" WHERE workspace = $1;

-- start run [W 1]
INSERT INTO "test_dp"."test_dp_transformer_runs" (workspace, run_id, status, started_at) VALUES ($1, $2, 'running', now());

-- end run [W 1 succeeded {} {} <nil>]
UPDATE "test_dp"."test_dp_transformer_runs" SET status = $3, ended_at = now(), inputs = $4::jsonb, rows = $5::jsonb, error = $6
WHERE workspace = $1 AND run_id = $2;

-- reject event [Store1#people 7 t 0 1 bad []]
INSERT INTO "test_dp"."test_dp_cdc_rejects" (key, batch_id, topic, kafka_partition, kafka_offset, reason, payload, rejected_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, now()) ON CONFLICT (key, topic, kafka_partition, kafka_offset) DO NOTHING;

-- stream lag [[Store1#people]]
SELECT l.key, l.batch_id, l.data_time,
       extract(epoch FROM (now() - l.data_time))::double precision AS lag_seconds
FROM (SELECT DISTINCT ON (m.key) m.key::text AS key, m.batch_id, (m.state->>'dataTime')::timestamptz AS data_time
      FROM "test_dp"."test_dp_batch_metrics" m
      WHERE m.batch_status = 'committed' AND m.key = ANY($1::text[])
      ORDER BY m.key, m.batch_id DESC) l
ORDER BY l.key;

-- workspace lag
SELECT max(w.lag_seconds) FROM (
SELECT l.key, l.batch_id, l.data_time,
       extract(epoch FROM (now() - l.data_time))::double precision AS lag_seconds
FROM (SELECT DISTINCT ON (m.key) m.key::text AS key, m.batch_id, (m.state->>'dataTime')::timestamptz AS data_time
      FROM "test_dp"."test_dp_batch_metrics" m
      WHERE m.batch_status = 'committed'
      ORDER BY m.key, m.batch_id DESC) l
ORDER BY l.key) w;

-- count rows
SELECT count(*) FROM "test_dp_w"."test_dp_w_g_store1_people_view_live";

