// Package sqlcheck is a conservative lexical check of generated SQL used by the tests and the
// fuzz target: a statement must be exactly one statement — every quoted identifier and string
// literal closed, and no `;`, comment, dollar quote or NUL outside them. It is stricter than
// PostgreSQL (the service never generates comments or dollar quotes), so anything it accepts
// the server parses as one statement.
package sqlcheck

import (
	"errors"
	"fmt"
)

// Single reports why s is not exactly one statement, or nil.
func Single(s string) error {
	if s == "" {
		return errors.New("empty statement")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case 0:
			return fmt.Errorf("NUL at byte %d", i)
		case '"', '\'':
			j := i + 1
			for {
				if j >= len(s) {
					return fmt.Errorf("unterminated %c quote starting at byte %d", c, i)
				}
				if s[j] == 0 {
					return fmt.Errorf("NUL in quotes at byte %d", j)
				}
				if s[j] == c {
					if j+1 < len(s) && s[j+1] == c {
						j += 2
						continue
					}
					break
				}
				j++
			}
			if c == '\'' && i > 0 && (s[i-1] == 'E' || s[i-1] == 'e') && (i < 2 || !isIdent(s[i-2])) {
				return fmt.Errorf("escape string literal at byte %d", i)
			}
			i = j
		case ';':
			return fmt.Errorf("statement separator at byte %d", i)
		case '$':
			return fmt.Errorf("dollar sign outside quotes at byte %d", i)
		case '-':
			if i+1 < len(s) && s[i+1] == '-' {
				return fmt.Errorf("comment at byte %d", i)
			}
		case '/':
			if i+1 < len(s) && s[i+1] == '*' {
				return fmt.Errorf("comment at byte %d", i)
			}
		case '\\':
			return fmt.Errorf("backslash outside quotes at byte %d", i)
		}
	}
	return nil
}

func isIdent(c byte) bool {
	return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}
