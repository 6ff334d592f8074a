package hashing_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/datasurface/datasurface/platforms/yellow/hashing"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func ptr(s string) *string { return &s }

func TestAppendField(t *testing.T) {
	tests := []struct {
		name string
		v    []byte
		null bool
		want string
	}{
		{"null", nil, true, "ffffffff"},
		{"empty", []byte{}, false, "00000000"},
		{"ascii", []byte("ann"), false, "00000003616e6e"},
		{"multibyte", []byte("é"), false, "00000002c3a9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hex.EncodeToString(hashing.AppendField(nil, tt.v, tt.null))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("AppendField (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendUnescaped(t *testing.T) {
	tests := []struct {
		name, raw, want string
	}{
		{"plain", "abc", "abc"},
		{"backslash", `a\\b`, `a\b`},
		{"controls", `\b\f\n\r\t\v`, "\b\f\n\r\t\v"},
		{"octal", `\101\0\12x`, "A\x00\nx"},
		{"hex", `\x41\x4g\xz`, "A\x04gxz"},
		{"other", `\q\"`, `q"`},
		{"bytea hex output", `\\x00ff`, `\x00ff`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hashing.AppendUnescaped(nil, []byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("AppendUnescaped(%q) (-want +got):\n%s", tt.raw, diff)
			}
		})
	}
	if _, err := hashing.AppendUnescaped(nil, []byte(`abc\`)); err == nil {
		t.Error("lone trailing backslash: no error")
	}
}

func TestEscapeRoundTrip(t *testing.T) {
	for _, s := range []string{"", "a\tb\nc\\d\re\bf\fg\vh", "日本語\x01", `\N`} {
		esc := hashing.AppendEscaped(nil, []byte(s))
		if bytes.ContainsAny(esc, "\t\n\r") {
			t.Errorf("escaped %q still holds a separator: %q", s, esc)
		}
		back, err := hashing.AppendUnescaped(nil, esc)
		if err != nil {
			t.Fatal(err)
		}
		if string(back) != s {
			t.Errorf("round trip of %q gave %q", s, back)
		}
	}
}

// manual computes the spec's hash by hand: SHA-256 over the field encodings.
func manual(vals ...*string) [32]byte {
	var b []byte
	for _, v := range vals {
		if v == nil {
			b = hashing.AppendField(b, nil, true)
		} else {
			b = hashing.AppendField(b, []byte(*v), false)
		}
	}
	return sha256.Sum256(b)
}

func TestHasher(t *testing.T) {
	cols := []hashing.Column{
		{Name: "name", Type: "character varying(20)"},
		{Name: "id", Type: "integer"},
		{Name: "active", Type: "boolean"},
		{Name: "code", Type: "character(5)"},
		{Name: "Zed", Type: "text"},
	}
	h, err := hashing.New(cols, []string{"id", "name"})
	if err != nil {
		t.Fatal(err)
	}
	line := []byte("tab\\there\t42\tt\tab   \t\\N")
	all, key, err := h.HashLine(line)
	if err != nil {
		t.Fatal(err)
	}
	// All hash: columns by name in byte order: Zed, active, code, id, name; booleans as true/false,
	// character(n) without trailing blanks.
	wantAll := manual(nil, ptr("true"), ptr("ab"), ptr("42"), ptr("tab\there"))
	wantKey := manual(ptr("42"), ptr("tab\there"))
	if all != wantAll {
		t.Errorf("all hash = %x, want %x", all, wantAll)
	}
	if key != wantKey {
		t.Errorf("key hash = %x, want %x", key, wantKey)
	}
	vAll, vKey, err := h.HashValues([]*string{ptr("tab\there"), ptr("42"), ptr("t"), ptr("ab   "), nil})
	if err != nil {
		t.Fatal(err)
	}
	if vAll != all || vKey != key {
		t.Errorf("HashValues differs from HashLine")
	}

	keyless, err := hashing.New(cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	kAll, kKey, err := keyless.HashLine(line)
	if err != nil {
		t.Fatal(err)
	}
	if kAll != wantAll || kKey != wantAll {
		t.Errorf("keyless: key hash must be the all hash")
	}

	for _, bad := range []string{"a\t1\tt\tx", "a\t1\tt\tx\ty\tz", "a\t1\tt\tx\t\\"} {
		if _, _, err := h.HashLine([]byte(bad)); err == nil {
			t.Errorf("HashLine(%q): no error", bad)
		}
	}

	staged, err := h.AppendStagingLine(nil, line, 7)
	if err != nil {
		t.Fatal(err)
	}
	want := string(line) + "\t7\t\\\\x" + hex.EncodeToString(all[:]) + "\t\\\\x" + hex.EncodeToString(key[:]) + "\n"
	if diff := cmp.Diff(want, string(staged)); diff != "" {
		t.Errorf("AppendStagingLine (-want +got):\n%s", diff)
	}
}

func TestNewRejects(t *testing.T) {
	tests := []struct {
		name string
		cols []hashing.Column
		key  []string
	}{
		{"no columns", nil, nil},
		{"repeated column", []hashing.Column{{"a", "integer"}, {"a", "integer"}}, nil},
		{"bad type", []hashing.Column{{"a", "integer; DROP TABLE x"}}, nil},
		{"unknown key", []hashing.Column{{"a", "integer"}}, []string{"b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := hashing.New(tt.cols, tt.key); err == nil {
				t.Error("no error")
			}
			if tt.key != nil {
				if _, err := hashing.KeyHashSQL("s", tt.cols, tt.key); err == nil {
					t.Error("KeyHashSQL: no error")
				}
			} else if _, err := hashing.AllHashSQL("s", tt.cols); err == nil {
				t.Error("AllHashSQL: no error")
			}
		})
	}
}

func TestSQLGolden(t *testing.T) {
	cols := []hashing.Column{
		{Name: "id", Type: "integer"},
		{Name: "Name", Type: "character varying(50)"},
		{Name: "balance", Type: "numeric(12,2)"},
		{Name: `odd"name`, Type: "text"},
	}
	all, err := hashing.AllHashSQL("s", cols)
	if err != nil {
		t.Fatal(err)
	}
	key, err := hashing.KeyHashSQL("s", cols, []string{"id", "Name"})
	if err != nil {
		t.Fatal(err)
	}
	keyless, err := hashing.KeyHashSQL("", cols, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := "-- all hash\n" + all + "\n-- key hash\n" + key + "\n-- keyless key hash\n" + keyless + "\n"
	golden(t, "hash_sql.golden", got)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func FuzzAppendUnescaped(f *testing.F) {
	for _, s := range []string{"", `a\tb`, `\x4`, `\777`, `\\N`, "\xff"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		v, err := hashing.AppendUnescaped(nil, raw)
		if err != nil {
			return
		}
		back, err := hashing.AppendUnescaped(nil, hashing.AppendEscaped(nil, v))
		if err != nil || !bytes.Equal(back, v) {
			t.Fatalf("escape round trip of %q: %q, %v", v, back, err)
		}
	})
}

// BenchmarkHashLine measures the Go side of ingest hashing: one ~200-byte COPY line of eight
// columns, both hashes and the staging line.
func BenchmarkHashLine(b *testing.B) {
	cols := []hashing.Column{
		{Name: "id", Type: "integer"}, {Name: "name", Type: "character varying(80)"},
		{Name: "email", Type: "character varying(80)"}, {Name: "amount", Type: "numeric(12,2)"},
		{Name: "updated", Type: "timestamp without time zone"}, {Name: "score", Type: "integer"},
		{Name: "active", Type: "boolean"}, {Name: "code", Type: "character(4)"},
	}
	h, err := hashing.New(cols, []string{"id"})
	if err != nil {
		b.Fatal(err)
	}
	line := []byte("123456\t0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\t" +
		"fedcba9876543210fedcba9876543210@example.com\t12345.67\t2026-01-02 03:04:05.123456\t42\tt\tab  ")
	var dst []byte
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if dst, err = h.AppendStagingLine(dst[:0], line, 7); err != nil {
			b.Fatal(err)
		}
	}
}
