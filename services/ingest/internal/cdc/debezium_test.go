package cdc

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/google/go-cmp/cmp"
)

func testDecoder(t testing.TB, key []string, cols ...[2]string) *Decoder {
	t.Helper()
	ds := layout.Dataset{Store: "S", Name: "T", PrimaryKey: key}
	tzs := make([]string, len(cols))
	for i, c := range cols {
		ds.Columns = append(ds.Columns, layout.Column{Name: c[0], Type: c[1], Model: true})
		if strings.HasPrefix(c[1], "timestamp") {
			tzs[i] = "Asia/Kolkata"
		}
	}
	d, err := NewDecoder(ds, tzs)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDecodeValues(t *testing.T) {
	d := testDecoder(t, []string{"id"},
		[2]string{"id", "bigint"}, [2]string{"neg", "numeric(10,3)"}, [2]string{"var", "numeric"}, [2]string{"old", "date"},
		[2]string{"nano", "timestamp without time zone"}, [2]string{"zoned", "timestamp without time zone"}, [2]string{"dur", "interval"},
		[2]string{"c", "character(3)"}, [2]string{"bins", "bytea[]"}, [2]string{"f", "real"}, [2]string{"m", "jsonb"})
	schema := `{"type":"struct","fields":[{"type":"struct","field":"after","fields":[
		{"type":"int64","field":"id"},
		{"type":"bytes","name":"org.apache.kafka.connect.data.Decimal","parameters":{"scale":"3"},"field":"neg"},
		{"type":"struct","name":"io.debezium.data.VariableScaleDecimal","field":"var"},
		{"type":"int32","name":"io.debezium.time.Date","field":"old"},
		{"type":"int64","name":"io.debezium.time.NanoTimestamp","field":"nano"},
		{"type":"string","name":"io.debezium.time.ZonedTimestamp","field":"zoned"},
		{"type":"int64","name":"io.debezium.time.MicroDuration","field":"dur"},
		{"type":"string","field":"c"},
		{"type":"array","items":{"type":"bytes"},"field":"bins"},
		{"type":"float","field":"f"},
		{"type":"map","field":"m"}]}]}`
	// -1.5 with scale 3 = unscaled -1500 = 0xFA24; 12345 with scale 2 = 123.45.
	value := `{"schema":` + schema + `,"payload":{"op":"c","ts_ms":9,"source":{"lsn":77,"ts_ms":5},"after":{
		"id":9007199254740993,"neg":"+iQ=","var":{"scale":2,"value":"MDk="},"old":-719528,
		"nano":1700000000123456789,"zoned":"2026-01-01T00:00:00.5-05:00","dur":90061000001,
		"c":"abcdé","bins":["AAE=",null],"f":"NaN","m":{"b": 1, "a": [true]}}}}`
	line, ev, err := d.Decode(nil, nil, []byte(value), 3)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{"9007199254740993", "-1.500", "123.45", "0001-01-01 BC", "2023-11-14 22:13:20.123456",
		"2026-01-01 10:30:00.500000", "90061000001 microseconds", "abc", `{"\\\\x0001",NULL}`, "NaN", `{"b":1,"a":[true]}`}, "\t")
	if diff := cmp.Diff(want, string(line)); diff != "" {
		t.Errorf("line (-want +got):\n%s", diff)
	}
	if ev.Op != 'I' || ev.Pos != (Position{77, 77, 3}) || ev.TsMs != 5 {
		t.Errorf("event = %+v", ev)
	}
}

func TestDecodeBarePayloadAndKeys(t *testing.T) {
	d := testDecoder(t, []string{"id", "region"}, [2]string{"id", "integer"}, [2]string{"region", "text"}, [2]string{"v", "character varying(2)"})
	// A delete with an empty before image takes its key from the message key.
	line, ev, err := d.Decode(nil, []byte(`{"id":1,"region":"eu"}`),
		[]byte(`{"op":"d","before":null,"after":null,"source":{"sequence":"[\"10\",\"12\"]","lsn":12}}`), 0)
	if err != nil || string(line) != "1\teu\t\\N" || ev.Op != 'D' || ev.Pos != (Position{10, 12, 0}) {
		t.Fatalf("delete: %q %+v %v", line, ev, err)
	}
	line, _, err = d.Decode(nil, nil, []byte(`{"op":"u","after":{"id":2,"region":"us","v":"日本語"},"source":{"sequence":"[null,\"5\"]","lsn":5}}`), 1)
	if err != nil || string(line) != "2\tus\t日本" {
		t.Fatalf("update: %q %v", line, err)
	}
	for name, tc := range map[string]struct{ key, value, want string }{
		"tombstone":      {`{"id":1}`, ``, ""},
		"unparseable":    {``, `{"op":`, "unparseable value"},
		"no op":          {``, `{"after":{"id":1,"region":"x"},"source":{"lsn":1}}`, "no op"},
		"unknown op":     {``, `{"op":"z","after":{"id":1,"region":"x"},"source":{"lsn":1}}`, `unknown op "z"`},
		"missing key":    {``, `{"op":"c","after":{"id":1},"source":{"lsn":1}}`, `missing key column "region"`},
		"no position":    {``, `{"op":"c","after":{"id":1,"region":"x"},"source":{}}`, "no position"},
		"bad sequence":   {``, `{"op":"c","after":{"id":1,"region":"x"},"source":{"sequence":"[1]"}}`, "source.sequence"},
		"out of range":   {``, `{"op":"c","after":{"id":3000000000,"region":"x"},"source":{"lsn":1}}`, `"3000000000" is not a valid integer`},
		"not a number":   {``, `{"op":"c","after":{"id":1.5,"region":"x"},"source":{"lsn":1}}`, `"1.5" is not a valid integer`},
		"NUL":            {``, `{"op":"c","after":{"id":1,"region":"a\u0000b"},"source":{"lsn":1}}`, "NUL"},
		"after missing":  {``, `{"op":"c","after":null,"source":{"lsn":1}}`, "without an after image"},
		"truncate":       {``, `{"op":"t","source":{"lsn":1}}`, "truncate"},
		"time of day":    {``, `{"schema":{"type":"struct","fields":[{"type":"struct","field":"after","fields":[{"type":"int64","name":"io.debezium.time.MicroTime","field":"v"}]}]},"payload":{"op":"c","after":{"id":1,"region":"x","v":5},"source":{"lsn":1}}}`, "time-of-day"},
		"null payload":   {``, `{"schema":null,"payload":null}`, ""},
		"key unparsable": {`{`, `{"op":"d","before":null,"source":{"lsn":1}}`, "unparseable key"},
	} {
		_, ev, err := d.Decode(nil, []byte(tc.key), []byte(tc.value), 0)
		switch {
		case tc.want == "" && (err != nil || ev.Op != 0):
			t.Errorf("%s: want a skipped tombstone, got %+v %v", name, ev, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want %q", name, err, tc.want)
		}
		if name == "truncate" && !errors.Is(err, ErrTruncate) {
			t.Errorf("truncate: %v is not ErrTruncate", err)
		}
	}
}

func TestLocation(t *testing.T) {
	for tz, off := range map[string]int{"GMT+05:30": 19800, "GMT-08": -28800, "UTC": 0} {
		loc, err := Location(tz)
		if err != nil {
			t.Fatal(err)
		}
		if _, o := timeAt(loc); o != off {
			t.Errorf("%s: offset %d, want %d", tz, o, off)
		}
	}
	if _, err := Location("Mars/Olympus"); err == nil {
		t.Error("unknown zone: no error")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"id":1}`), []byte(`{"op":"c","after":{"id":1,"v":"x","n":[1,null]},"source":{"sequence":"[\"1\",\"2\"]","lsn":2}}`))
	f.Add([]byte(nil), []byte(`{"schema":{"type":"struct","fields":[]},"payload":{"op":"d","before":{"id":3},"source":{"lsn":1}}}`))
	d := testDecoder(f, []string{"id"}, [2]string{"id", "integer"}, [2]string{"v", "text"}, [2]string{"n", "numeric[]"})
	f.Fuzz(func(t *testing.T, key, value []byte) {
		line, ev, err := d.Decode(nil, key, value, 1)
		if err != nil || ev.Op == 0 {
			return
		}
		if n := strings.Count(string(line), "\t"); n != 2 || strings.ContainsAny(string(line), "\n\r") {
			t.Fatalf("line %q has %d tabs", line, n)
		}
	})
}

func timeAt(loc *time.Location) (string, int) { return time.Date(2026, 1, 1, 0, 0, 0, 0, loc).Zone() }
