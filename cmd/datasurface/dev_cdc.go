package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Debezium PostgreSQL connector change events (Kafka Connect JSON converter with schemas), as
// services/ingest consumes them: the simulated CDC source of `datasurface dev`. A row's values
// come from its number and version, so an update's before image is the row as last written.

// cdcRow returns row n at version v of a CDC dataset.
func (s *simulator) cdcRow(t *simTable, n, v int64) map[string]any {
	r := rand.New(rand.NewPCG(uint64(n), uint64(v)))
	vals := s.row(t, n, r)
	out := make(map[string]any, len(vals))
	for i, c := range t.ds.GetColumns() {
		out[c.GetName()] = connectValue(c.GetType(), vals[i])
	}
	return out
}

func (s *simulator) cdcVersions(t *simTable) map[string]int64 {
	m := s.st.CDC[t.ref]
	if m == nil {
		m = map[string]int64{}
		s.st.CDC[t.ref] = m
	}
	return m
}

// cdcInsert is row n's insert (op "c") or snapshot read (op "r").
func (s *simulator) cdcInsert(t *simTable, n int64, op string) []*kgo.Record {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	vs := s.cdcVersions(t)
	k := strconv.FormatInt(n, 10)
	if _, ok := vs[k]; ok && t.keyed() {
		return nil
	}
	vs[k] = 1
	return []*kgo.Record{s.cdcEvent(t, n, op, nil, s.cdcRow(t, n, 1))}
}

// cdcUpdate is an update of row n (op "u", full before image), if it exists.
func (s *simulator) cdcUpdate(t *simTable, n int64) []*kgo.Record {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	vs := s.cdcVersions(t)
	k := strconv.FormatInt(n, 10)
	v, ok := vs[k]
	if !ok {
		return nil
	}
	vs[k] = v + 1
	return []*kgo.Record{s.cdcEvent(t, n, "u", s.cdcRow(t, n, v), s.cdcRow(t, n, v+1))}
}

// cdcDelete is a delete of row n (op "d") and its tombstone, if it exists.
func (s *simulator) cdcDelete(t *simTable, n int64) []*kgo.Record {
	s.st.mu.Lock()
	defer s.st.mu.Unlock()
	vs := s.cdcVersions(t)
	k := strconv.FormatInt(n, 10)
	v, ok := vs[k]
	if !ok {
		return nil
	}
	delete(vs, k)
	ev := s.cdcEvent(t, n, "d", s.cdcRow(t, n, v), nil)
	return []*kgo.Record{ev, {Topic: t.topic, Key: ev.Key}}
}

// cdcEvent builds one change event; the caller holds s.st.mu.
func (s *simulator) cdcEvent(t *simTable, n int64, op string, before, after map[string]any) *kgo.Record {
	s.st.CDCLSN += 100
	lsn := s.st.CDCLSN
	now := time.Now()
	schema, table, _ := strings.Cut(strings.TrimPrefix(t.topic, t.store.GetCapture().GetKafkaCdc().GetTopicPrefix()+"."), ".")
	if table == "" {
		schema, table = "public", schema
	}
	source := map[string]any{
		"version": "2.7.3.Final", "connector": "postgresql", "name": "dev", "ts_ms": now.UnixMilli(),
		"snapshot": "false", "db": strings.ToLower(t.store.GetName()), "sequence": fmt.Sprintf(`["%d","%d"]`, lsn, lsn),
		"schema": schema, "table": table, "txId": lsn / 100, "lsn": lsn, "xmin": nil,
	}
	if op == "r" {
		source["snapshot"] = "true"
		source["sequence"] = fmt.Sprintf(`[null,"%d"]`, lsn)
	}
	name := "dev." + schema + "." + table
	rowSchema := func(field string) map[string]any {
		var fields []any
		for _, c := range t.ds.GetColumns() {
			f := connectSchema(c.GetType(), !c.GetNullable())
			f["field"] = c.GetName()
			fields = append(fields, f)
		}
		return map[string]any{"type": "struct", "optional": true, "name": name + ".Value", "field": field, "fields": fields}
	}
	valueSchema := map[string]any{"type": "struct", "optional": false, "name": name + ".Envelope", "version": 1, "fields": []any{
		rowSchema("before"), rowSchema("after"),
		map[string]any{"type": "struct", "optional": false, "name": "io.debezium.connector.postgresql.Source", "field": "source", "fields": []any{
			sfield("string", "version", false), sfield("string", "connector", false), sfield("string", "name", false),
			sfield("int64", "ts_ms", false), sfield("string", "snapshot", true), sfield("string", "db", false),
			sfield("string", "sequence", true), sfield("string", "schema", false), sfield("string", "table", false),
			sfield("int64", "txId", true), sfield("int64", "lsn", true), sfield("int64", "xmin", true),
		}},
		sfield("string", "op", false), sfield("int64", "ts_ms", true),
	}}
	payload := map[string]any{"before": before, "after": after, "source": source, "op": op, "ts_ms": now.UnixMilli()}
	rec := &kgo.Record{Topic: t.topic, Value: mustMarshal(map[string]any{"schema": valueSchema, "payload": payload})}
	if t.keyed() {
		var keyFields []any
		keyPayload := map[string]any{}
		for i, k := range t.key {
			f := connectSchema(k.GetType(), true)
			f["field"] = k.GetName()
			keyFields = append(keyFields, f)
			keyPayload[k.GetName()] = connectValue(k.GetType(), t.rowKey(n)[i])
		}
		rec.Key = mustMarshal(map[string]any{
			"schema":  map[string]any{"type": "struct", "optional": false, "name": name + ".Key", "fields": keyFields},
			"payload": keyPayload,
		})
	}
	return rec
}

func sfield(typ, name string, optional bool) map[string]any {
	return map[string]any{"type": typ, "field": name, "optional": optional}
}

func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps, strings and numbers
	}
	return b
}

// connectSchema is the Kafka Connect schema the Debezium PostgreSQL connector writes for a
// column of the physical type Yellow maps dt to.
func connectSchema(dt *modelv1.DataType, required bool) map[string]any {
	f := map[string]any{"optional": !required}
	named := func(typ, name string) map[string]any {
		f["type"], f["name"], f["version"] = typ, name, 1
		return f
	}
	switch dt.GetName() {
	case "Boolean":
		f["type"] = "boolean"
	case "TinyInt", "SmallInt":
		f["type"] = "int16"
	case "Integer":
		f["type"] = "int32"
	case "BigInt":
		f["type"] = "int64"
	case "Decimal":
		named("bytes", "org.apache.kafka.connect.data.Decimal")
		f["parameters"] = map[string]string{"scale": strconv.Itoa(int(dt.GetScale())), "connect.decimal.precision": strconv.Itoa(int(dt.GetPrecision()))}
	case "IEEE16", "IEEE32":
		f["type"] = "float"
	case "IEEE64", "CustomFloat":
		f["type"] = "double"
	case "Date":
		return named("int32", "io.debezium.time.Date")
	case "Timestamp":
		return named("int64", "io.debezium.time.MicroTimestamp")
	case "Interval":
		return named("int64", "io.debezium.time.MicroDuration")
	case "Variant", "Map", "Struct":
		return named("string", "io.debezium.data.Json")
	case "Binary":
		f["type"] = "bytes"
	case "Array":
		f["type"] = "array"
		f["items"] = connectSchema(dt.GetElementType(), false)
	default:
		f["type"] = "string"
	}
	return f
}

// connectValue is a generated value as the JSON converter writes it for connectSchema(dt).
func connectValue(dt *modelv1.DataType, v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case decimalText:
		return connectDecimal(string(x), int(dt.GetScale()))
	case civilDate:
		return time.Time(x).Unix() / 86400
	case time.Time:
		return x.UnixMicro()
	case time.Duration:
		return x.Microseconds()
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case jsonDoc:
		return string(mustMarshal(x.v))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = connectValue(dt.GetElementType(), e)
		}
		return out
	}
	return v
}

// connectDecimal encodes a decimal text with the given scale as Connect's Decimal: base64 of
// the big-endian two's complement unscaled value.
func connectDecimal(s string, scale int) string {
	whole, frac, _ := strings.Cut(s, ".")
	for len(frac) < scale {
		frac += "0"
	}
	n, ok := new(big.Int).SetString(whole+frac[:scale], 10)
	if !ok {
		n = new(big.Int)
	}
	var b []byte
	if n.Sign() >= 0 {
		b = n.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
	} else {
		size := (n.BitLen() + 8) / 8
		m := new(big.Int).Add(n, new(big.Int).Lsh(big.NewInt(1), uint(size*8)))
		b = m.FillBytes(make([]byte, size))
	}
	return base64.StdEncoding.EncodeToString(b)
}
