// Package cdc owns Kafka CDC ingestion's wire side (yellow.md §7.3): decoding Debezium
// PostgreSQL change events (JSON, with or without schemas) into rows of a dataset's CDC load
// table — operation, row image converted to the text of each column's physical type, position
// — with poison events (unparseable, missing key, unknown operation, non-convertible value)
// reported as *Poison; and reading the Kafka partitions of a batch's offset range with
// confluent-kafka-go (manual assignment, no commits).
package cdc

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/ytypes"
)

// Poison is an event that cannot be ingested; Reason says why.
type Poison struct{ Reason string }

func (p *Poison) Error() string { return "poison event: " + p.Reason }

func poison(format string, args ...any) error { return &Poison{Reason: fmt.Sprintf(format, args...)} }

// ErrTruncate is a Debezium truncate event: it fails the batch permanently (yellow.md §7.3).
var ErrTruncate = errors.New("truncate event")

// Position is ARRAY[commitLsn, lsn, kafkaOffset] (yellow.md §7.3).
type Position [3]int64

// Compare orders positions lexicographically.
func (p Position) Compare(q Position) int {
	for i := range p {
		switch {
		case p[i] < q[i]:
			return -1
		case p[i] > q[i]:
			return 1
		}
	}
	return 0
}

// Event is one decoded change.
type Event struct {
	// Op is 'I', 'U' or 'D'; 0 for a tombstone (skipped).
	Op   byte
	Pos  Position
	TsMs int64
}

// column is one model column as the decoder converts it.
type column struct {
	name string
	typ  string // physical type
	base string // normalized base type (no array suffix), e.g. INTEGER, CHARACTER VARYING(10)
	arr  bool
	max  int // character limit of a (var)char column, 0 = none
	loc  *time.Location
	key  bool
}

// Decoder decodes the events of one dataset. It is not safe for concurrent use.
type Decoder struct {
	cols    []column
	hasKey  bool
	schemas schemaCache
	keyCols schemaCache
}

// NewDecoder returns a decoder for the columns of ds (model order) with the model time zones
// tzs (per column; "" when not a Timestamp).
func NewDecoder(ds layout.Dataset, tzs []string) (*Decoder, error) {
	d := &Decoder{hasKey: !ds.Keyless()}
	for i, c := range ds.Columns {
		n := ytypes.Normalize(c.Type)
		col := column{name: c.Name, typ: c.Type, base: strings.TrimSuffix(n, "[]"), arr: strings.HasSuffix(n, "[]"), key: slices.Contains(ds.PrimaryKey, c.Name)}
		if strings.Count(n, "[]") > 1 {
			return nil, fmt.Errorf("column %q: nested arrays are not supported", c.Name)
		}
		if b, p, ok := strings.Cut(col.base, "("); ok && (b == "CHARACTER VARYING" || b == "CHARACTER") {
			col.max, _ = strconv.Atoi(strings.TrimSuffix(p, ")"))
		}
		if tz := tzs[i]; tz != "" {
			loc, err := Location(tz)
			if err != nil {
				return nil, fmt.Errorf("column %q: %w", c.Name, err)
			}
			col.loc = loc
		}
		d.cols = append(d.cols, col)
	}
	return d, nil
}

// Location resolves a model time zone: an IANA name, or GMT±HH[:MM] (ISO sign: GMT+05:30 is
// east of UTC).
func Location(tz string) (*time.Location, error) {
	if len(tz) >= 6 && tz[:3] == "GMT" && (tz[3] == '+' || tz[3] == '-') {
		h, m, _ := strings.Cut(tz[4:], ":")
		hh, err1 := strconv.Atoi(h)
		mm := 0
		var err2 error
		if m != "" {
			mm, err2 = strconv.Atoi(m)
		}
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("time zone %q is not valid", tz)
		}
		off := (hh*60 + mm) * 60
		if tz[3] == '-' {
			off = -off
		}
		return time.FixedZone(tz, off), nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: %w", tz, err)
	}
	return loc, nil
}

// connectSchema is a Kafka Connect schema (the JSON converter's "schema").
type connectSchema struct {
	Type       string            `json:"type"`
	Name       string            `json:"name"`
	Field      string            `json:"field"`
	Optional   bool              `json:"optional"`
	Fields     []*connectSchema  `json:"fields"`
	Items      *connectSchema    `json:"items"`
	Parameters map[string]string `json:"parameters"`
}

func (s *connectSchema) field(name string) *connectSchema {
	if s == nil {
		return nil
	}
	for _, f := range s.Fields {
		if f.Field == name {
			return f
		}
	}
	return nil
}

// schemaCache keeps the last parsed schema: a connector's schema changes rarely, and parsing it
// for every event would dominate decoding.
type schemaCache struct {
	raw    []byte
	parsed *connectSchema
}

func (c *schemaCache) get(raw json.RawMessage) (*connectSchema, error) {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if c.parsed != nil && bytes.Equal(raw, c.raw) {
		return c.parsed, nil
	}
	var s connectSchema
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, err
	}
	c.raw, c.parsed = append(c.raw[:0], raw...), &s
	return &s, nil
}

type payload struct {
	Before map[string]json.RawMessage `json:"before"`
	After  map[string]json.RawMessage `json:"after"`
	Source *struct {
		Lsn      *int64  `json:"lsn"`
		Sequence *string `json:"sequence"`
		TsMs     int64   `json:"ts_ms"`
	} `json:"source"`
	Op   *string `json:"op"`
	TsMs int64   `json:"ts_ms"`
}

// split returns the schema and payload of a JSON-converter message: {schema, payload} or a
// bare payload.
func split(b []byte) (schema, pl json.RawMessage, err error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, nil, err
	}
	if p, ok := probe["payload"]; ok {
		if _, isEnvelope := probe["schema"]; isEnvelope || len(probe) == 1 {
			return probe["schema"], p, nil
		}
	}
	return nil, b, nil
}

// Decode decodes message (key, value) at Kafka offset off and appends the load table's model
// column fields (COPY text, tab-separated, no trailing tab) to dst. A tombstone returns an
// Event with Op 0 and dst unchanged.
func (d *Decoder) Decode(dst []byte, key, value []byte, off int64) ([]byte, Event, error) {
	var ev Event
	if len(value) == 0 || bytes.Equal(value, []byte("null")) {
		return dst, ev, nil // tombstone
	}
	rawSchema, rawPayload, err := split(value)
	if err != nil {
		return dst, ev, poison("unparseable value: %v", err)
	}
	if bytes.Equal(rawPayload, []byte("null")) {
		return dst, ev, nil // tombstone with a schema envelope
	}
	var p payload
	if err := json.Unmarshal(rawPayload, &p); err != nil {
		return dst, ev, poison("unparseable payload: %v", err)
	}
	schema, err := d.schemas.get(rawSchema)
	if err != nil {
		return dst, ev, poison("unparseable schema: %v", err)
	}
	if p.Op == nil {
		return dst, ev, poison("no op")
	}
	image, imageSchema := p.After, schema.field("after")
	switch *p.Op {
	case "c", "r":
		ev.Op = 'I'
	case "u":
		ev.Op = 'U'
	case "d":
		ev.Op = 'D'
		image, imageSchema = p.Before, schema.field("before")
	case "t":
		return dst, ev, ErrTruncate
	default:
		return dst, ev, poison("unknown op %q", *p.Op)
	}
	if image == nil && ev.Op != 'D' {
		return dst, ev, poison("op %q without an after image", *p.Op)
	}
	if ev.Pos, err = position(p, off); err != nil {
		return dst, ev, err
	}
	ev.TsMs = p.TsMs
	if p.Source != nil && p.Source.TsMs != 0 {
		ev.TsMs = p.Source.TsMs
	}
	var keyImage map[string]json.RawMessage
	var keySchema *connectSchema
	keyLoaded := false
	loadKey := func() error {
		if keyLoaded {
			return nil
		}
		keyLoaded = true
		if len(key) == 0 {
			return nil
		}
		ks, kp, err := split(key)
		if err != nil {
			return poison("unparseable key: %v", err)
		}
		if err := json.Unmarshal(kp, &keyImage); err != nil {
			return poison("unparseable key payload: %v", err)
		}
		if keySchema, err = d.keyCols.get(ks); err != nil {
			return poison("unparseable key schema: %v", err)
		}
		return nil
	}
	for i, c := range d.cols {
		if i > 0 {
			dst = append(dst, '\t')
		}
		raw, ok := image[c.name]
		fs := imageSchema.field(c.name)
		if (!ok || isNull(raw)) && c.key {
			if err := loadKey(); err != nil {
				return dst, ev, err
			}
			raw, ok = keyImage[c.name]
			fs = keySchema.field(c.name)
		}
		if !ok || isNull(raw) {
			if c.key {
				return dst, ev, poison("missing key column %q", c.name)
			}
			dst = append(dst, '\\', 'N')
			continue
		}
		v, err := d.value(raw, fs, c)
		if err != nil {
			return dst, ev, poison("column %q: %v", c.name, err)
		}
		dst = hashing.AppendEscaped(dst, v)
	}
	if !d.hasKey && image == nil {
		return dst, ev, poison("a delete of a keyless dataset needs the full before image")
	}
	return dst, ev, nil
}

func isNull(raw json.RawMessage) bool { return len(raw) == 0 || bytes.Equal(raw, []byte("null")) }

// position reads ARRAY[commitLsn, lsn, offset] from source.sequence (["<commit>", "<lsn>"]),
// falling back to source.lsn for a missing part.
func position(p payload, off int64) (Position, error) {
	if p.Source == nil {
		return Position{}, poison("no source block")
	}
	var commit, lsn *int64
	if s := p.Source.Sequence; s != nil && *s != "" {
		var seq []*string
		if err := json.Unmarshal([]byte(*s), &seq); err != nil || len(seq) != 2 {
			return Position{}, poison("source.sequence %q is not [commit lsn, lsn]", *s)
		}
		for i, v := range seq {
			if v == nil {
				continue
			}
			n, err := strconv.ParseInt(*v, 10, 64)
			if err != nil {
				return Position{}, poison("source.sequence %q: %v", *s, err)
			}
			if i == 0 {
				commit = &n
			} else {
				lsn = &n
			}
		}
	}
	if commit == nil {
		commit = p.Source.Lsn
	}
	if lsn == nil {
		lsn = p.Source.Lsn
	}
	if commit == nil || lsn == nil {
		return Position{}, poison("no position (source.sequence and source.lsn are missing)")
	}
	return Position{*commit, *lsn, off}, nil
}

// value converts one JSON value (not null) to the text of column c's physical type.
func (d *Decoder) value(raw json.RawMessage, fs *connectSchema, c column) ([]byte, error) {
	if c.arr {
		if fs != nil && fs.Type != "" && fs.Type != "array" {
			return nil, fmt.Errorf("connect type %s for an array column", fs.Type)
		}
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("not an array: %w", err)
		}
		var es *connectSchema
		if fs != nil {
			es = fs.Items
		}
		out := []byte{'{'}
		for i, it := range items {
			if i > 0 {
				out = append(out, ',')
			}
			if isNull(it) {
				out = append(out, "NULL"...)
				continue
			}
			v, err := d.scalar(it, es, c)
			if err != nil {
				return nil, fmt.Errorf("element %d: %w", i+1, err)
			}
			out = append(out, '"')
			for _, b := range v {
				if b == '"' || b == '\\' {
					out = append(out, '\\')
				}
				out = append(out, b)
			}
			out = append(out, '"')
		}
		return append(out, '}'), nil
	}
	return d.scalar(raw, fs, c)
}

// Debezium semantic types (Connect schema names).
const (
	nameDate           = "io.debezium.time.Date"
	nameTimestamp      = "io.debezium.time.Timestamp"
	nameMicroTimestamp = "io.debezium.time.MicroTimestamp"
	nameNanoTimestamp  = "io.debezium.time.NanoTimestamp"
	nameZoned          = "io.debezium.time.ZonedTimestamp"
	nameDecimal        = "org.apache.kafka.connect.data.Decimal"
	nameVarDecimal     = "io.debezium.data.VariableScaleDecimal"
	nameJSON           = "io.debezium.data.Json"
	nameMicroDuration  = "io.debezium.time.MicroDuration"
)

var timeOfDay = map[string]bool{
	"io.debezium.time.Time": true, "io.debezium.time.MicroTime": true, "io.debezium.time.NanoTime": true,
	"io.debezium.time.ZonedTime": true, "org.apache.kafka.connect.data.Time": true,
}

// scalar converts one non-null JSON scalar (or document) to the text of c's base type.
func (d *Decoder) scalar(raw json.RawMessage, fs *connectSchema, c column) ([]byte, error) {
	name, ctype := "", ""
	if fs != nil {
		name, ctype = fs.Name, fs.Type
	}
	if timeOfDay[name] {
		return nil, fmt.Errorf("time-of-day value (%s) has no model type", name)
	}
	switch name {
	case nameDate:
		days, err := jsonInt(raw)
		if err != nil {
			return nil, err
		}
		return d.fit(c, formatDate(time.Unix(days*86400, 0).UTC()))
	case nameTimestamp, nameMicroTimestamp, nameNanoTimestamp:
		n, err := jsonInt(raw)
		if err != nil {
			return nil, err
		}
		var t time.Time
		switch name {
		case nameTimestamp:
			t = time.UnixMilli(n)
		case nameMicroTimestamp:
			t = time.UnixMicro(n)
		default:
			t = time.Unix(0, n)
		}
		return d.fit(c, formatTimestamp(t.UTC()))
	case nameZoned:
		s, err := jsonString(raw)
		if err != nil {
			return nil, err
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Errorf("zoned timestamp %q: %w", s, err)
		}
		loc := c.loc
		if loc == nil {
			loc = time.UTC
		}
		return d.fit(c, formatTimestamp(t.In(loc)))
	case nameDecimal:
		s, err := jsonString(raw)
		if err != nil {
			return nil, err
		}
		scale, err := strconv.Atoi(fs.Parameters["scale"])
		if err != nil {
			return nil, fmt.Errorf("decimal without a scale")
		}
		return decimalText(s, scale, c, d)
	case nameVarDecimal:
		var v struct {
			Scale int    `json:"scale"`
			Value string `json:"value"`
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("variable scale decimal: %w", err)
		}
		return decimalText(v.Value, v.Scale, c, d)
	case nameJSON:
		s, err := jsonString(raw)
		if err != nil {
			return nil, err
		}
		return d.fit(c, []byte(s))
	case nameMicroDuration:
		n, err := jsonInt(raw)
		if err != nil {
			return nil, err
		}
		return d.fit(c, []byte(strconv.FormatInt(n, 10)+" microseconds"))
	}
	switch ctype {
	case "bytes":
		s, err := jsonString(raw)
		if err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			return nil, fmt.Errorf("bytes: %w", err)
		}
		return d.fit(c, append([]byte(`\x`), hex.EncodeToString(b)...))
	case "struct", "map":
		return d.fit(c, compact(raw))
	}
	switch raw[0] {
	case '"':
		s, err := jsonString(raw)
		if err != nil {
			return nil, err
		}
		return d.fit(c, []byte(s))
	case 't':
		return d.fit(c, []byte("true"))
	case 'f':
		return d.fit(c, []byte("false"))
	case '{', '[':
		return d.fit(c, compact(raw))
	}
	return d.fit(c, raw) // a number as written
}

// fit checks (and for character types truncates, as a cast does) the text of a value against
// the column's physical type, so that the load table's COPY accepts it.
func (d *Decoder) fit(c column, v []byte) ([]byte, error) {
	base := c.base
	if i := strings.IndexByte(base, '('); i >= 0 {
		base = base[:i]
	}
	switch base {
	case "SMALLINT", "INTEGER", "BIGINT":
		bits := map[string]int{"SMALLINT": 16, "INTEGER": 32, "BIGINT": 64}[base]
		if _, err := strconv.ParseInt(string(v), 10, bits); err != nil {
			return nil, fmt.Errorf("%q is not a valid %s", v, strings.ToLower(base))
		}
	case "BOOLEAN":
		switch string(v) {
		case "true", "false", "t", "f":
		default:
			return nil, fmt.Errorf("%q is not a boolean", v)
		}
	case "REAL", "DOUBLE PRECISION", "NUMERIC":
		s := string(v)
		if s != "NaN" && s != "Infinity" && s != "-Infinity" {
			if _, err := strconv.ParseFloat(s, 64); err != nil {
				var ne *strconv.NumError
				if !errors.As(err, &ne) || !errors.Is(ne.Err, strconv.ErrRange) {
					return nil, fmt.Errorf("%q is not a number", v)
				}
			}
		}
	case "JSONB":
		if !json.Valid(v) {
			return nil, fmt.Errorf("not a JSON document")
		}
	case "CHARACTER VARYING", "CHARACTER":
		if c.max > 0 && utf8.RuneCount(v) > c.max {
			n, i := 0, 0
			for i < len(v) && n < c.max {
				_, size := utf8.DecodeRune(v[i:])
				i += size
				n++
			}
			v = v[:i]
		}
	}
	if bytes.IndexByte(v, 0) >= 0 {
		return nil, fmt.Errorf("text contains NUL")
	}
	return v, nil
}

func decimalText(b64 string, scale int, c column, d *Decoder) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("decimal: %w", err)
	}
	n := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 { // two's complement
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	s := n.String()
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if scale > 0 {
		if len(s) <= scale {
			s = strings.Repeat("0", scale-len(s)+1) + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	} else if scale < 0 {
		s += strings.Repeat("0", -scale)
	}
	if neg {
		s = "-" + s
	}
	return d.fit(c, []byte(s))
}

func jsonInt(raw json.RawMessage) (int64, error) {
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s is not an integer", raw)
	}
	return n, nil
}

func jsonString(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s is not a string", raw)
	}
	return s, nil
}

func compact(raw json.RawMessage) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

// formatDate renders a date as PostgreSQL reads it (BC years as "YYYY-MM-DD BC").
func formatDate(t time.Time) []byte {
	y, m, dd := t.Date()
	if y <= 0 {
		return fmt.Appendf(nil, "%04d-%02d-%02d BC", 1-y, m, dd)
	}
	return fmt.Appendf(nil, "%04d-%02d-%02d", y, m, dd)
}

// formatTimestamp renders a wall-clock time with microseconds.
func formatTimestamp(t time.Time) []byte {
	out := formatDate(t)
	bc := bytes.HasSuffix(out, []byte(" BC"))
	out = bytes.TrimSuffix(out, []byte(" BC"))
	out = fmt.Appendf(out, " %02d:%02d:%02d.%06d", t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1000)
	if bc {
		out = append(out, " BC"...)
	}
	return out
}
