package ingest_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/ddl"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kafkaEnv is an in-process Kafka-protocol cluster and a producer.
type kafkaEnv struct {
	t       *testing.T
	cluster *kfake.Cluster
	client  *kgo.Client
}

func newKafka(t *testing.T, partitions int32, topics ...string) *kafkaEnv {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, topics...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &kafkaEnv{t: t, cluster: c, client: cl}
}

func (k *kafkaEnv) produce(topic string, partition int32, msgs ...msg) {
	k.t.Helper()
	for _, m := range msgs {
		r := &kgo.Record{Topic: topic, Partition: partition, Key: m.key, Value: m.value}
		if err := k.client.ProduceSync(context.Background(), r).FirstErr(); err != nil {
			k.t.Fatal(err)
		}
	}
}

// deleteBefore deletes the records of a partition below offset (retention).
func (k *kafkaEnv) deleteBefore(topic string, partition int32, offset int64) {
	k.t.Helper()
	req := kmsg.NewPtrDeleteRecordsRequest()
	rt := kmsg.NewDeleteRecordsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewDeleteRecordsRequestTopicPartition()
	rp.Partition, rp.Offset = partition, offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), k.client)
	if err != nil {
		k.t.Fatal(err)
	}
	if code := resp.Topics[0].Partitions[0].ErrorCode; code != 0 {
		k.t.Fatalf("delete records: error code %d", code)
	}
}

// ---------------------------------------------------------------------------------------------
// Debezium PostgreSQL connector messages (JSON converter with schemas)

type msg struct{ key, value []byte }

// customer columns: id integer PK, name varchar(20), balance numeric(10,2), born date,
// updated timestamptz (model Timestamp in Europe/Paris), tags text[], doc jsonb, flag boolean,
// score double precision, raw bytea.
func field(typ, name, f string, optional bool, extra ...map[string]any) map[string]any {
	m := map[string]any{"type": typ, "optional": optional, "field": f}
	if name != "" {
		m["name"], m["version"] = name, 1
	}
	for _, e := range extra {
		for k, v := range e {
			m[k] = v
		}
	}
	return m
}

func rowSchema(f string) map[string]any {
	return map[string]any{"type": "struct", "optional": true, "name": "pg.public.customers.Value", "field": f, "fields": []any{
		field("int32", "", "id", false),
		field("string", "", "name", true),
		field("bytes", "org.apache.kafka.connect.data.Decimal", "balance", true, map[string]any{"parameters": map[string]string{"scale": "2", "connect.decimal.precision": "10"}}),
		field("int32", "io.debezium.time.Date", "born", true),
		field("string", "io.debezium.time.ZonedTimestamp", "updated", true),
		field("array", "", "tags", true, map[string]any{"items": map[string]any{"type": "string", "optional": true}}),
		field("string", "io.debezium.data.Json", "doc", true),
		field("boolean", "", "flag", true),
		field("double", "", "score", true),
		field("bytes", "", "raw", true),
	}}
}

var valueSchema = map[string]any{"type": "struct", "optional": false, "name": "pg.public.customers.Envelope", "version": 1, "fields": []any{
	rowSchema("before"), rowSchema("after"),
	map[string]any{"type": "struct", "optional": false, "name": "io.debezium.connector.postgresql.Source", "field": "source", "fields": []any{
		field("string", "", "version", false), field("string", "", "connector", false), field("string", "", "name", false),
		field("int64", "", "ts_ms", false), field("string", "io.debezium.data.Enum", "snapshot", true), field("string", "", "db", false),
		field("string", "", "sequence", true), field("string", "", "schema", false), field("string", "", "table", false),
		field("int64", "", "txId", true), field("int64", "", "lsn", true), field("int64", "", "xmin", true),
	}},
	field("string", "", "op", false), field("int64", "", "ts_ms", true),
}}

var keySchema = map[string]any{"type": "struct", "optional": false, "name": "pg.public.customers.Key", "fields": []any{field("int32", "", "id", false)}}

// decimal encodes v (a decimal string with two fractional digits) as Connect's Decimal: base64
// of the big-endian two's complement unscaled value.
func connectDecimal(v string) string {
	n, ok := new(big.Int).SetString(strings.ReplaceAll(v, ".", ""), 10)
	if !ok {
		panic(v)
	}
	var b []byte
	if n.Sign() >= 0 {
		b = n.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
	} else {
		bits := n.BitLen() + 1
		size := (bits + 7) / 8
		m := new(big.Int).Add(n, new(big.Int).Lsh(big.NewInt(1), uint(size*8)))
		b = m.FillBytes(make([]byte, size))
	}
	return base64.StdEncoding.EncodeToString(b)
}

// customer is a row image as the connector writes it.
func customer(id int, name string, balance string, born string, updated string, tags []any, doc string, flag bool, score float64, raw []byte) map[string]any {
	d, _ := time.Parse("2006-01-02", born)
	var r any
	if raw != nil {
		r = base64.StdEncoding.EncodeToString(raw)
	}
	var tg any
	if tags != nil {
		tg = tags
	}
	return map[string]any{
		"id": id, "name": name, "balance": connectDecimal(balance), "born": d.Unix() / 86400,
		"updated": updated, "tags": tg, "doc": doc, "flag": flag, "score": score, "raw": r,
	}
}

// event builds a change event. lsn is the event's LSN; the commit LSN is lsn rounded down to
// a multiple of 100 (events of one transaction share it); snapshot events have no commit LSN.
func event(op string, id int, before, after map[string]any, lsn int64) msg {
	commit := fmt.Sprintf("%q", fmt.Sprint(lsn/100*100))
	if op == "r" {
		commit = "null"
	}
	source := map[string]any{
		"version": "2.7.3.Final", "connector": "postgresql", "name": "pg", "ts_ms": 1767225600000 + lsn, "snapshot": "false", "db": "shop",
		"sequence": fmt.Sprintf(`[%s,"%d"]`, commit, lsn), "schema": "public", "table": "customers", "txId": 700 + lsn/100, "lsn": lsn, "xmin": nil,
	}
	if op == "r" {
		source["snapshot"] = "true"
	}
	payload := map[string]any{"before": before, "after": after, "source": source, "op": op, "ts_ms": 1767225600500 + lsn}
	return msg{key: keyOf(id), value: mustJSON(map[string]any{"schema": valueSchema, "payload": payload})}
}

func keyOf(id int) []byte {
	return mustJSON(map[string]any{"schema": keySchema, "payload": map[string]any{"id": id}})
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func tombstone(id int) msg { return msg{key: keyOf(id)} }

// ---------------------------------------------------------------------------------------------

const topic = "pg.public.customers"

func (e *env) cdcModel(k *kafkaEnv, policy modelv1.CdcRejectPolicy) *modelv1.Model {
	return e.cdcModelAt(k.cluster.ListenAddrs(), policy)
}

// cdcModelAt is cdcModel for a cluster at brokers.
func (e *env) cdcModelAt(brokers []string, policy modelv1.CdcRejectPolicy) *modelv1.Model {
	ds := dataset("customers", []string{"id"},
		col("id", typ("Integer"), false), col("name", sized("VarChar", 20), true), col("balance", decimal(10, 2), true),
		col("born", typ("Date"), true), col("updated", timestamp("Europe/Paris"), true), col("tags", array(typ("VarChar")), true),
		col("doc", typ("Variant"), true), col("flag", typ("Boolean"), true), col("score", typ("IEEE64"), true), col("raw", typ("Binary"), true))
	store := &modelv1.Datastore{Name: "CDCStore", Zone: "Z", Team: "T", Datasets: []*modelv1.Dataset{ds},
		Capture: &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_KafkaCdc{KafkaCdc: &modelv1.KafkaCdcCapture{
			Container:  &modelv1.DataContainer{Kind: &modelv1.DataContainer_Kafka{Kafka: &modelv1.KafkaCluster{BootstrapServers: brokers}}},
			Credential: userPassword("KAFKA"), Consistency: modelv1.Consistency_CONSISTENCY_SINGLE_DATASET, Trigger: cron,
			Format: modelv1.CdcFormat_CDC_FORMAT_DEBEZIUM_POSTGRES_JSON, Topics: map[string]string{"customers": topic},
		}}}}
	m := e.model(store)
	if policy != modelv1.CdcRejectPolicy_CDC_REJECT_POLICY_UNSPECIFIED {
		y := m.Psps[0].Platforms[0].GetYellow()
		y.StreamOverrides = append(y.StreamOverrides, &modelv1.StreamOverride{Datastore: "CDCStore", Dataset: "customers", CdcRejectPolicy: policy})
	}
	return m
}

const cdcKey = "CDCStore#customers"

// staging dumps staging(b): "iud id name balance born updated tags doc flag score raw".
func (e *env) cdcStaging(d layout.Dataset, b int32) []string {
	e.t.Helper()
	st := stagingOf(d, layout.CDC)
	var sel []string
	for _, c := range append([]string{layout.IUD}, st.ModelColumnNames()...) {
		sel = append(sel, "coalesce(s."+ddl.Quote(c)+"::text, 'NULL')")
	}
	rows, err := e.merge.Query(context.Background(), "SELECT concat_ws(' ', "+strings.Join(sel, ", ")+") FROM "+ddl.Ident(st.Name)+
		` s WHERE s."ds_surf_batch_id" = $1 ORDER BY s."id"`, b)
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatal(err)
	}
	if out == nil {
		out = []string{}
	}
	return out
}

func (e *env) rejects(b int32) []string {
	e.t.Helper()
	rows, err := e.merge.Query(context.Background(), `SELECT kafka_offset || ' ' || reason FROM `+ddl.Ident(books.Rejects)+` WHERE key = $1 AND batch_id = $2 ORDER BY kafka_offset`, cdcKey, b)
	if err != nil {
		e.t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// TestCDC runs Kafka CDC batches over Debezium events: conversion of every value kind, last
// change per key wins, tombstones skipped, offsets recorded in the batch state (never committed
// to Kafka), replays of committed events skipped, poison events quarantined with their reason
// (including one only the merge database rejects), an idempotent re-run, the FAIL policy, a
// truncate event and a CDC gap.
func TestCDC(t *testing.T) {
	k := newKafka(t, 1, topic)
	e := newEnv(t)
	e.ms = layout.LiveOnly
	m := e.cdcModel(k, modelv1.CdcRejectPolicy_CDC_REJECT_POLICY_UNSPECIFIED)
	e.setup(m)
	d := e.streams(m)[cdcKey].datasets[0]

	ann := customer(1, "ann", "10.50", "1990-05-01", "2026-01-01T12:00:00.123456Z", []any{"a", nil, `q"uote`}, `{"k": [1, 2]}`, true, 1.5, []byte{0, 1, 0xff})
	ann2 := customer(1, "ann v2 with a name longer than twenty", "-7.25", "1990-05-01", "2026-07-01T12:00:00Z", []any{}, `{"k": 2}`, false, -0.25, nil)
	bob := customer(2, "bob", "0.00", "1970-01-01", "2026-01-01T00:00:00+05:30", nil, `null`, true, 0, []byte("bob"))
	cy := customer(3, "cy\ttab\nline", "99999999.99", "0001-01-01", "2026-03-29T01:30:00Z", []any{"x"}, `"s"`, true, 1e300, nil)
	dee := customer(4, "dée 日本", "-0.01", "2000-02-29", "2026-10-25T00:30:00Z", []any{"é"}, `[]`, false, 2.5, []byte{})
	k.produce(topic, 0,
		event("r", 1, nil, ann, 100), event("r", 2, nil, bob, 100), event("r", 3, nil, cy, 100), // snapshot
		event("c", 4, nil, dee, 210),
		event("u", 1, ann, ann2, 320),
		event("d", 2, map[string]any{"id": 2}, nil, 430), tombstone(2),
	)

	// Batch 1.
	b := e.open(m, cdcKey)
	res := e.mustIngest(m, cdcKey, b)
	if res.Capture != "cdc" || res.Total != 4 || res.Rows["customers"] != 4 || res.Rejected != nil || res.Replayed != nil {
		t.Errorf("batch 1 result = %+v", res)
	}
	if diff := cmp.Diff(map[string]int64{topic + "/0": 7}, res.KafkaEnd); diff != "" {
		t.Errorf("kafka end (-want +got):\n%s", diff)
	}
	want := []string{
		`U 1 ann v2 with a name l -7.25 1990-05-01 2026-07-01 14:00:00 {} {"k": 2} false -0.25 NULL`,
		`D 2 NULL NULL NULL NULL NULL NULL NULL NULL NULL`,
		"I 3 cy\ttab\nline 99999999.99 0001-01-01 2026-03-29 03:30:00 {x} \"s\" true 1e+300 NULL",
		`I 4 dée 日本 -0.01 2000-02-29 2026-10-25 02:30:00 {é} [] false 2.5 \x`,
	}
	if diff := cmp.Diff(want, e.cdcStaging(d, b)); diff != "" {
		t.Errorf("batch 1 staging (-want +got):\n%s", diff)
	}
	if bad, total := e.badHashes(d, layout.CDC, b); bad != 0 || total != 4 {
		t.Errorf("%d of %d staging rows have hashes that differ from the SQL form", bad, total)
	}
	_, st := e.state(cdcKey, b)
	if st.Kafka == nil || st.Kafka.Start[topic+"/0"] != 0 || st.Kafka.End[topic+"/0"] != 7 || !cmp.Equal(st.Kafka.MaxPos, []int64{400, 430, 5}) {
		t.Errorf("batch 1 kafka state = %+v", st.Kafka)
	}
	if st.DataTime != time.UnixMilli(1767225600000+430).UTC().Format(time.RFC3339Nano) {
		t.Errorf("data time = %s", st.DataTime)
	}
	e.commit(m, cdcKey, b)
	// The anomaly check: the merge table holds 1 (updated), 3 and 4.
	var ids []int32
	rows, _ := e.merge.Query(context.Background(), `SELECT "id" FROM `+ddl.Ident(layout.Merge(platform, d, e.ms).Name)+` ORDER BY 1`)
	ids, _ = pgx.CollectRows(rows, pgx.RowTo[int32])
	if diff := cmp.Diff([]int32{1, 3, 4}, ids); diff != "" {
		t.Errorf("merge table ids (-want +got):\n%s", diff)
	}

	// Batch 2: a replay of a committed event, a valid update, and poison of every kind.
	cy2 := customer(3, "cy v2", "1.00", "2001-01-01", "2026-01-01T00:00:00Z", nil, `{}`, true, 3, nil)
	badDate := event("c", 5, nil, customer(5, "e", "1.00", "2001-01-01", "2026-01-01T00:00:00Z", nil, `{}`, true, 3, nil), 560)
	badDate.value = []byte(strings.Replace(string(badDate.value), `"born":11323`, `"born":"yesterday"`, 1))
	overflow := event("c", 6, nil, customer(6, "f", "123456789012.00", "2001-01-01", "2026-01-01T00:00:00Z", nil, `{}`, true, 3, nil), 570)
	noKey := event("c", 7, nil, map[string]any{"name": "no id"}, 580)
	noKey.key = nil
	k.produce(topic, 0,
		event("u", 1, ann, ann2, 320),                     // offset 7: replay of batch 1
		event("u", 3, cy, cy2, 500),                       // 8
		msg{key: keyOf(9), value: []byte(`{"schema": {`)}, // 9: unparseable
		noKey,                        // 10
		event("x", 8, nil, cy2, 590), // 11: unknown op
		event("u", 3, cy, cy2, 450),  // 12: out of order
		badDate,                      // 13: not convertible in Go
		overflow,                     // 14: numeric field overflow, found by the merge database
	)
	b = e.open(m, cdcKey)
	res = e.mustIngest(m, cdcKey, b)
	if res.Total != 1 || !cmp.Equal(res.Rejected, map[string]int64{"customers": 6}) || !cmp.Equal(res.Replayed, map[string]int64{"customers": 1}) {
		t.Errorf("batch 2 result = %+v", res)
	}
	if diff := cmp.Diff([]string{`U 3 cy v2 1.00 2001-01-01 2026-01-01 01:00:00 NULL {} true 3 NULL`}, e.cdcStaging(d, b)); diff != "" {
		t.Errorf("batch 2 staging (-want +got):\n%s", diff)
	}
	wantRejects := []string{
		"9 unparseable value: unexpected end of JSON input",
		`10 missing key column "id"`,
		`11 unknown op "x"`,
		"12 out of order: position [400, 450] after [500, 500] in the same partition",
		`13 column "born": "yesterday" is not an integer`,
		"14 the merge database rejects a value: numeric field overflow (A field with precision 10, scale 2 must round to an absolute value less than 10^8.)",
	}
	if diff := cmp.Diff(wantRejects, e.rejects(b)); diff != "" {
		t.Errorf("rejects (-want +got):\n%s", diff)
	}
	_, st = e.state(cdcKey, b)
	if c := st.Rows["customers"]; c.Staged != 1 || c.Rejected != 6 || c.Replayed != 1 || st.Kafka.Start[topic+"/0"] != 7 || st.Kafka.End[topic+"/0"] != 15 {
		t.Errorf("batch 2 state = %+v %+v", st.Rows, st.Kafka)
	}

	// Re-running batch 2 gives the same staging and rejects.
	first := e.cdcStaging(d, b)
	e.restart(cdcKey, b)
	e.mustIngest(m, cdcKey, b)
	if diff := cmp.Diff(first, e.cdcStaging(d, b)); diff != "" {
		t.Errorf("re-run staging (-first +re-run):\n%s", diff)
	}
	if diff := cmp.Diff(wantRejects, e.rejects(b)); diff != "" {
		t.Errorf("re-run rejects (-want +got):\n%s", diff)
	}
	e.commit(m, cdcKey, b)

	// Batch 3 under the FAIL policy: the first poison event fails the batch, nothing staged.
	fail := e.cdcModel(k, modelv1.CdcRejectPolicy_CDC_REJECT_POLICY_FAIL)
	k.produce(topic, 0, event("c", 9, nil, cy2, 600), msg{key: keyOf(9), value: []byte(`not json`)})
	b = e.open(fail, cdcKey)
	_, err := e.ingest(context.Background(), fail, cdcKey, b)
	ingestErr(t, err, ingest.CodeCDCPoison, true, "poison event at "+topic+"/0 offset 16", "cdcRejectPolicy FAIL")
	if n := e.stagedCount(d, layout.CDC, b); n != 0 {
		t.Errorf("%d rows staged after a failed batch", n)
	}
	// QUARANTINE takes it.
	res = e.mustIngest(m, cdcKey, b)
	if res.Total != 1 || res.Rejected["customers"] != 1 {
		t.Errorf("batch 3 result = %+v", res)
	}
	e.commit(m, cdcKey, b)

	// A truncate event fails permanently.
	k.produce(topic, 0, msg{value: mustJSON(map[string]any{"schema": valueSchema, "payload": map[string]any{
		"before": nil, "after": nil, "op": "t", "ts_ms": 1, "source": map[string]any{"lsn": 700, "ts_ms": 1},
	}})})
	b = e.open(m, cdcKey)
	_, err = e.ingest(context.Background(), m, cdcKey, b)
	ingestErr(t, err, ingest.CodeCDCTruncate, true, "truncate event at "+topic+"/0 offset 17")
}

// TestCDCGap: events deleted by retention before they were read fail the batch permanently.
func TestCDCGap(t *testing.T) {
	k := newKafka(t, 2, topic)
	e := newEnv(t)
	m := e.cdcModel(k, modelv1.CdcRejectPolicy_CDC_REJECT_POLICY_UNSPECIFIED)
	e.setup(m)
	d := e.streams(m)[cdcKey].datasets[0]
	row := func(id int) map[string]any {
		return customer(id, fmt.Sprint("n", id), "1.00", "2001-01-01", "2026-01-01T00:00:00Z", nil, `{}`, true, 1, nil)
	}
	k.produce(topic, 0, event("c", 1, nil, row(1), 100))
	k.produce(topic, 1, event("c", 2, nil, row(2), 110), event("c", 3, nil, row(3), 120))
	b := e.open(m, cdcKey)
	res := e.mustIngest(m, cdcKey, b)
	if res.Total != 3 || !cmp.Equal(res.KafkaEnd, map[string]int64{topic + "/0": 1, topic + "/1": 2}) {
		t.Errorf("batch 1 = %+v", res)
	}
	e.commit(m, cdcKey, b)
	k.produce(topic, 1, event("c", 4, nil, row(4), 130), event("c", 5, nil, row(5), 140))
	k.deleteBefore(topic, 1, 3) // offset 2 (id 4) was never read
	b = e.open(m, cdcKey)
	_, err := e.ingest(context.Background(), m, cdcKey, b)
	ingestErr(t, err, ingest.CodeCDCGap, true, "CDC gap on "+topic+"/1: events 2 to 2 were deleted", "batch reseed")
	// The ingest of batch 2 committed batch 1's end offsets to the consumer group (for
	// monitoring), every partition; nothing of the failed batch 2.
	if diff := cmp.Diff(map[int32]int64{0: 1, 1: 2}, k.committedGroupOffsets("datasurface."+platform+"."+cdcKey, 2)); diff != "" {
		t.Errorf("consumer group offsets (-want +got):\n%s", diff)
	}
	if n := e.stagedCount(d, layout.CDC, b); n != 0 {
		t.Errorf("%d rows staged", n)
	}
	if status, _ := e.state(cdcKey, b); status != mergesql.Started {
		t.Errorf("status = %s", status)
	}
}
