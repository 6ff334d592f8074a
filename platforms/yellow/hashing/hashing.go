// Package hashing owns the row hashes of a Yellow platform (yellow.md §5): the normative SQL
// expressions of the key hash and the all hash, and the Go implementation ingest uses over the
// COPY text output of a source query that already casts every column to its physical type. Both
// produce identical bytes for every storable type.
//
// Field encoding f(v): NULL → FF FF FF FF; otherwise the byte length of the value's text as a
// 4-byte big-endian integer followed by the text's UTF-8 bytes. Key hash = SHA-256 of the field
// encodings of the primary-key columns in key order; all hash = SHA-256 of the field encodings of
// all model columns ordered by column name (byte order); a keyless dataset's key hash is its all
// hash.
//
// The text of a value is what the normative SQL form computes, `c::<type>::text`. For every
// storable type that is PostgreSQL's output of the value (what COPY writes), except two types
// whose cast to text is a function: `boolean::text` is `true`/`false` where COPY writes `t`/`f`,
// and `character(n)::text` drops the trailing blanks that COPY keeps. The Go side applies the
// same two rules, so the hashes agree (arrays use the element output in both).
package hashing

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"

	"github.com/datasurface/datasurface/platforms/yellow/ytypes"
	"github.com/jackc/pgx/v5"
)

// Size is the length of a hash in bytes.
const Size = sha256.Size

// nullField is f(NULL).
var nullField = []byte{0xff, 0xff, 0xff, 0xff}

// Column is one model column: its name and physical type (as format_type prints it).
type Column struct {
	Name string
	Type string
}

// textKind says how a column's COPY text becomes its canonical text.
type textKind uint8

const (
	plainText  textKind = iota
	boolText            // t/f → true/false
	bpcharText          // trailing blanks removed
)

func kindOf(typ string) textKind {
	switch ytypes.Normalize(typ) {
	case "BOOLEAN":
		return boolText
	}
	if n := ytypes.Normalize(typ); n == "CHARACTER" || strings.HasPrefix(n, "CHARACTER(") {
		return bpcharText
	}
	return plainText
}

// SessionSettings returns the session settings of yellow.md §1 that hashed text depends on
// (run-time parameters of a pgx connection config): every session that computes hashes or reads
// the text that is hashed MUST run with them. Merge sessions also set search_path = ”.
func SessionSettings() map[string]string {
	return map[string]string{
		"TimeZone":                    "UTC",
		"DateStyle":                   "ISO, YMD",
		"IntervalStyle":               "iso_8601",
		"extra_float_digits":          "1",
		"bytea_output":                "hex",
		"standard_conforming_strings": "on",
		"client_encoding":             "UTF8",
	}
}

// AppendField appends f(v) to dst: v's length as 4 bytes big-endian and v, or FF FF FF FF when
// null.
func AppendField(dst, v []byte, null bool) []byte {
	if null {
		return append(dst, nullField...)
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
	return append(dst, v...)
}

// ---------------------------------------------------------------------------------------------
// SQL form

// FieldSQL is the normative SQL form of f(expr) for a value of physical type typ:
// coalesce(int4send(length(convert_to(expr::typ::text, 'UTF8'))) || convert_to(expr::typ::text, 'UTF8'), '\xffffffff'::bytea).
// expr must be SQL built from quoted identifiers (ColumnRef); typ must be a physical type
// spelling.
func FieldSQL(expr, typ string) string {
	t := "convert_to(" + expr + "::" + typ + "::text, 'UTF8')"
	return "coalesce(int4send(length(" + t + ")) || " + t + `, '\xffffffff'::bytea)`
}

// ColumnRef quotes column c, qualified by alias a when a is not empty: a."c".
func ColumnRef(alias, c string) string {
	if alias == "" {
		return pgx.Identifier{c}.Sanitize()
	}
	return pgx.Identifier{alias, c}.Sanitize()
}

func hashSQL(alias string, cols []Column) string {
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = FieldSQL(ColumnRef(alias, c.Name), c.Type)
	}
	return "sha256(" + strings.Join(parts, " || ") + ")"
}

// ByName returns cols sorted by name (byte order), the all-hash order.
func ByName(cols []Column) []Column {
	out := slices.Clone(cols)
	slices.SortFunc(out, func(a, b Column) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// AllHashSQL is the SQL all hash over the model columns cols (any order; sorted by name here),
// each qualified by alias when it is not empty.
func AllHashSQL(alias string, cols []Column) (string, error) {
	if err := check(cols); err != nil {
		return "", err
	}
	return hashSQL(alias, ByName(cols)), nil
}

// KeyHashSQL is the SQL key hash: over the key columns in key order, or the all hash when key is
// empty (keyless dataset).
func KeyHashSQL(alias string, cols []Column, key []string) (string, error) {
	if err := check(cols); err != nil {
		return "", err
	}
	if len(key) == 0 {
		return hashSQL(alias, ByName(cols)), nil
	}
	kc, err := keyColumns(cols, key)
	if err != nil {
		return "", err
	}
	return hashSQL(alias, kc), nil
}

func keyColumns(cols []Column, key []string) ([]Column, error) {
	out := make([]Column, len(key))
	for i, k := range key {
		j := slices.IndexFunc(cols, func(c Column) bool { return c.Name == k })
		if j < 0 {
			return nil, fmt.Errorf("key column %q is not a column", k)
		}
		out[i] = cols[j]
	}
	return out, nil
}

func check(cols []Column) error {
	if len(cols) == 0 {
		return errors.New("no columns to hash")
	}
	seen := make(map[string]bool, len(cols))
	for _, c := range cols {
		if c.Name == "" || seen[c.Name] {
			return fmt.Errorf("column name %q is empty or repeats", c.Name)
		}
		seen[c.Name] = true
		if !validType(c.Type) {
			return fmt.Errorf("column %q: physical type %q is not valid", c.Name, c.Type)
		}
	}
	return nil
}

func validType(t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == ' ' || c == '_' || c == '(' || c == ')' || c == ',' || c == '[' || c == ']'
		if !ok {
			return false
		}
	}
	return true
}

// ---------------------------------------------------------------------------------------------
// Go form over COPY text

// Hasher computes the hashes of COPY text lines whose fields are the model columns in the order
// given to New. It reuses its buffers and is not safe for concurrent use.
type Hasher struct {
	kinds   []textKind
	keyIdx  []int // field indexes in key order; nil when keyless
	allIdx  []int // field indexes in column-name order
	fields  [][]byte
	nulls   []bool
	scratch []byte
	h       hash.Hash
	buf     []byte
	sumBuf  []byte
}

// New returns a Hasher for COPY lines with the fields cols (in that order) and primary key key
// (empty = keyless).
func New(cols []Column, key []string) (*Hasher, error) {
	if err := check(cols); err != nil {
		return nil, err
	}
	h := &Hasher{
		kinds:  make([]textKind, len(cols)),
		fields: make([][]byte, len(cols)),
		nulls:  make([]bool, len(cols)),
		h:      sha256.New(),
	}
	pos := make(map[string]int, len(cols))
	for i, c := range cols {
		h.kinds[i] = kindOf(c.Type)
		pos[c.Name] = i
	}
	for _, c := range ByName(cols) {
		h.allIdx = append(h.allIdx, pos[c.Name])
	}
	for _, k := range key {
		i, ok := pos[k]
		if !ok {
			return nil, fmt.Errorf("key column %q is not a column", k)
		}
		h.keyIdx = append(h.keyIdx, i)
	}
	return h, nil
}

// Fields returns the number of fields a line must have.
func (h *Hasher) Fields() int { return len(h.kinds) }

// HashLine hashes one COPY text line (without its line feed): it splits the fields at tabs,
// un-escapes them and returns the all hash and the key hash.
func (h *Hasher) HashLine(line []byte) (all, key [Size]byte, err error) {
	if err := h.split(line); err != nil {
		return all, key, err
	}
	return h.sums()
}

// HashValues hashes already un-escaped values (nil = NULL) given in column order. Values are the
// PostgreSQL text output of each value cast to its physical type.
func (h *Hasher) HashValues(vals []*string) (all, key [Size]byte, err error) {
	if len(vals) != len(h.kinds) {
		return all, key, fmt.Errorf("got %d values, want %d", len(vals), len(h.kinds))
	}
	for i, v := range vals {
		h.nulls[i] = v == nil
		if v != nil {
			h.fields[i] = []byte(*v)
		} else {
			h.fields[i] = nil
		}
	}
	return h.sums()
}

func (h *Hasher) sums() (all, key [Size]byte, err error) {
	all = h.sum(h.allIdx)
	if h.keyIdx == nil {
		return all, all, nil
	}
	return all, h.sum(h.keyIdx), nil
}

func (h *Hasher) sum(idx []int) (out [Size]byte) {
	h.h.Reset()
	for _, i := range idx {
		h.buf = AppendField(h.buf[:0], canonical(h.kinds[i], h.fields[i]), h.nulls[i])
		h.h.Write(h.buf)
	}
	h.sumBuf = h.h.Sum(h.sumBuf[:0])
	copy(out[:], h.sumBuf)
	return out
}

var (
	textTrue  = []byte("true")
	textFalse = []byte("false")
)

// canonical maps a value's output text to the text of its cast to text.
func canonical(k textKind, v []byte) []byte {
	switch k {
	case boolText:
		switch string(v) {
		case "t":
			return textTrue
		case "f":
			return textFalse
		}
	case bpcharText:
		n := len(v)
		for n > 0 && v[n-1] == ' ' {
			n--
		}
		return v[:n]
	}
	return v
}

// split fills fields and nulls from a COPY text line.
func (h *Hasher) split(line []byte) error {
	h.scratch = h.scratch[:0]
	// First pass: locate fields; un-escaped values are appended to scratch and sliced after the
	// pass (scratch may grow).
	type span struct{ start, end int }
	var spans [64]span
	sp := spans[:0]
	if cap(sp) < len(h.kinds) {
		sp = make([]span, 0, len(h.kinds))
	}
	n := 0
	start := 0
	for i := 0; i <= len(line); i++ {
		if i < len(line) && line[i] != '\t' {
			continue
		}
		if n >= len(h.kinds) {
			return fmt.Errorf("line has more than %d fields", len(h.kinds))
		}
		raw := line[start:i]
		switch {
		case len(raw) == 2 && raw[0] == '\\' && raw[1] == 'N':
			h.nulls[n] = true
			sp = append(sp, span{-1, -1})
		case indexByte(raw, '\\') < 0:
			h.nulls[n] = false
			h.fields[n] = raw
			sp = append(sp, span{-2, -2})
		default:
			h.nulls[n] = false
			s := len(h.scratch)
			var err error
			h.scratch, err = AppendUnescaped(h.scratch, raw)
			if err != nil {
				return fmt.Errorf("field %d: %w", n+1, err)
			}
			sp = append(sp, span{s, len(h.scratch)})
		}
		n++
		start = i + 1
	}
	if n != len(h.kinds) {
		return fmt.Errorf("line has %d fields, want %d", n, len(h.kinds))
	}
	for i, s := range sp {
		switch {
		case s.start == -1:
			h.fields[i] = nil
		case s.start >= 0:
			h.fields[i] = h.scratch[s.start:s.end]
		}
	}
	return nil
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// AppendUnescaped appends the value of one COPY text field (not `\N`) to dst, resolving the
// backslash sequences of the COPY text format: \b \f \n \r \t \v, \ooo (1–3 octal digits),
// \xhh (1–2 hex digits), and \c = c for any other character.
func AppendUnescaped(dst, raw []byte) ([]byte, error) {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		if i >= len(raw) {
			return dst, errors.New("field ends with a lone backslash")
		}
		c = raw[i]
		switch c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'v':
			dst = append(dst, '\v')
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && i+1 < len(raw) && raw[i+1] >= '0' && raw[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(raw[i]-'0')
			}
			dst = append(dst, byte(v))
		case 'x':
			if i+1 < len(raw) && isHex(raw[i+1]) {
				i++
				v := unhex(raw[i])
				if i+1 < len(raw) && isHex(raw[i+1]) {
					i++
					v = v*16 + unhex(raw[i])
				}
				dst = append(dst, v)
			} else {
				dst = append(dst, 'x')
			}
		default:
			dst = append(dst, c)
		}
	}
	return dst, nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// AppendEscaped appends v escaped as a COPY text field (backslash, tab, line feed, carriage
// return and the other control characters COPY escapes).
func AppendEscaped(dst, v []byte) []byte {
	for _, c := range v {
		switch c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\v':
			dst = append(dst, '\\', 'v')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// AppendStagingLine appends the staging COPY line of one source line to dst (yellow.md §7.1):
// the source fields as read, then the batch id and the all and key hashes as bytea hex, and a
// line feed. The staging COPY column list is the model columns in source order followed by
// ds_surf_batch_id, ds_surf_all_hash, ds_surf_key_hash.
func (h *Hasher) AppendStagingLine(dst, line []byte, batch int32) ([]byte, error) {
	all, key, err := h.HashLine(line)
	if err != nil {
		return dst, err
	}
	dst = append(dst, line...)
	dst = append(dst, '\t')
	dst = strconv.AppendInt(dst, int64(batch), 10)
	dst = appendByteaHex(dst, all[:])
	dst = appendByteaHex(dst, key[:])
	return append(dst, '\n'), nil
}

// appendByteaHex appends a tab and a bytea value in hex as a COPY text field (`\\x…`).
func appendByteaHex(dst, b []byte) []byte {
	dst = append(dst, '\t', '\\', '\\', 'x')
	return hex.AppendEncode(dst, b)
}
