// Package names owns the syntax of every name and name-like string of the ecosystem model
// (spec/model.md §2.1, §4.1, §4.2): SQL identifiers and the reserved-word list, display names,
// credential names, principals, repository references (`location@branch`) and location keys
// (`Vendor:L1/L2`). It is pure and allocation-light so lint can call it for every column of a
// large model.
package names

import (
	"unicode"
	"unicode/utf8"
)

// MaxSQLIdentifier is the longest SQL identifier, in bytes (= characters: identifiers are ASCII).
const MaxSQLIdentifier = 128

// MaxDisplayName is the longest display name, in Unicode characters.
const MaxDisplayName = 128

// MaxCredentialName is the longest credential name, in bytes.
const MaxCredentialName = 128

// MaxPrincipal is the longest principal (a Postgres role name), in bytes.
const MaxPrincipal = 63

// IsSQLIdentifierSyntax reports whether s matches ^[A-Za-z][A-Za-z0-9_]{0,127}$. It does not
// consult the reserved words; see SQLIdentifier.
func IsSQLIdentifierSyntax(s string) bool {
	if len(s) == 0 || len(s) > MaxSQLIdentifier || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && !isDigit(c) && c != '_' {
			return false
		}
	}
	return true
}

// SQLIdentifierStatus is the verdict of SQLIdentifier.
type SQLIdentifierStatus int

// Verdicts of SQLIdentifier.
const (
	SQLIdentifierValid    SQLIdentifierStatus = iota
	SQLIdentifierInvalid                      // does not match the syntax
	SQLIdentifierReserved                     // matches the syntax but is a reserved word
)

// SQLIdentifier classifies s as a valid SQL identifier, a syntax error or a reserved word
// (spec/model.md §2.1).
func SQLIdentifier(s string) SQLIdentifierStatus {
	if len(s) == 0 || len(s) > MaxSQLIdentifier || !isLetter(s[0]) {
		return SQLIdentifierInvalid
	}
	letters := true // reserved words are letters only: most identifiers skip the lookup
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case isLetter(c):
		case isDigit(c) || c == '_':
			letters = false
		default:
			return SQLIdentifierInvalid
		}
	}
	if letters && IsReserved(s) {
		return SQLIdentifierReserved
	}
	return SQLIdentifierValid
}

// IsSQLIdentifier reports whether s is a valid SQL identifier that is not a reserved word.
func IsSQLIdentifier(s string) bool { return SQLIdentifier(s) == SQLIdentifierValid }

// IsReserved reports whether upper(s) is one of the reserved words of spec/model.md §2.1.
func IsReserved(s string) bool {
	if len(s) < minReserved || len(s) > maxReserved {
		return false
	}
	var buf [maxReserved]byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	_, ok := reserved[string(buf[:len(s)])] // no allocation: the compiler reuses buf
	return ok
}

// ReservedWords returns the reserved words in the order of spec/model.md §2.1.
func ReservedWords() []string { return append([]string(nil), reservedList...) }

var reservedList = []string{
	"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "INSERT", "UPDATE", "DELETE",
	"CREATE", "ALTER", "DROP", "TABLE", "DATABASE", "INDEX", "VIEW", "TRIGGER", "PROCEDURE",
	"FUNCTION", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "ON",
	"GROUP", "BY", "ORDER", "HAVING", "UNION", "EXCEPT", "INTERSECT", "CASE", "WHEN", "THEN",
	"ELSE", "END", "AS", "DISTINCT", "NULL", "IS", "BETWEEN", "LIKE",
	"IN", "EXISTS", "ALL", "ANY", "SOME", "CAST", "CONVERT", "COALESCE", "COUNT", "SUM", "AVG",
	"MIN", "MAX", "TOP", "LIMIT", "FETCH", "OFFSET", "ROW", "ROWS",
	"ONLY", "FIRST", "NEXT", "VALUE", "VALUES", "INTO", "SET", "OUTPUT", "DECLARE", "CURSOR",
	"FOR", "WHILE", "LOOP", "REPEAT", "IF", "ELSEIF", "BEGIN",
	"COMMIT", "ROLLBACK", "SAVEPOINT", "TRANSACTION", "TRY", "CATCH", "THROW", "USE", "USING",
	"COLLATE", "PLAN", "EXECUTE", "PREPARE",
	"DEALLOCATE", "ASC", "DESC",
}

// minReserved and maxReserved bound the length of the reserved words, so most identifiers are
// rejected by length alone.
const (
	minReserved = 2
	maxReserved = 11
)

var reserved = func() map[string]struct{} {
	m := make(map[string]struct{}, len(reservedList))
	for _, w := range reservedList {
		m[w] = struct{}{}
	}
	return m
}()

// IsDisplayName reports whether s is a display name: 1–128 Unicode characters of valid UTF-8, no
// control characters, no leading or trailing white space, no '/' or ':'.
func IsDisplayName(s string) bool {
	if s == "" {
		return false
	}
	n := 0
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				return false
			}
		}
		if r == '/' || r == ':' || unicode.IsControl(r) {
			return false
		}
		n++
		if n > MaxDisplayName {
			return false
		}
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	return !unicode.IsSpace(first) && !unicode.IsSpace(last)
}

// IsCredentialName reports whether s matches ^[A-Za-z_][A-Za-z0-9_]{0,127}$ (a valid
// environment variable name).
func IsCredentialName(s string) bool {
	if len(s) == 0 || len(s) > MaxCredentialName || (!isLetter(s[0]) && s[0] != '_') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && !isDigit(c) && c != '_' {
			return false
		}
	}
	return true
}

// IsPrincipal reports whether s is a principal: 1–63 bytes of valid UTF-8 without NUL or
// control characters (a Postgres role name, always quoted).
func IsPrincipal(s string) bool {
	if len(s) == 0 || len(s) > MaxPrincipal || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) { // includes NUL
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
