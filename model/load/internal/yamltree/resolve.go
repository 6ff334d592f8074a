package yamltree

import (
	"strconv"
	"strings"
	"time"
)

// resolvePlain returns the tag yaml.v3 gives a plain (unquoted, untagged) scalar: its core-schema
// resolution (null, bool, int, float, timestamp, else str), with "<<" as a merge key.
func resolvePlain(s string) Tag {
	if s == "" {
		return TagNull
	}
	c := s[0]
	switch {
	case c == '<':
		if s == "<<" {
			return TagMerge
		}
		return TagStr
	case c == '+' || c == '-' || (c >= '0' && c <= '9'):
		// sign or digit, handled below
	case c == '.':
		switch s {
		case ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF":
			return TagFloat
		}
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return TagFloat
		}
		return TagStr
	case c == '~' || c == 'n' || c == 'N' || c == 't' || c == 'T' || c == 'f' || c == 'F' ||
		c == 'y' || c == 'Y' || c == 'o' || c == 'O':
		switch s {
		case "true", "True", "TRUE", "false", "False", "FALSE":
			return TagBool
		case "~", "null", "Null", "NULL":
			return TagNull
		}
		return TagStr
	default:
		return TagStr
	}
	switch s {
	case "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF":
		return TagFloat
	}
	if isTimestamp(s) {
		return TagTimestamp
	}
	plain := s
	if strings.IndexByte(s, '_') >= 0 {
		plain = strings.ReplaceAll(s, "_", "")
	}
	if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
		return TagInt
	}
	if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
		return TagInt
	}
	if isYAMLFloat(plain) {
		if _, err := strconv.ParseFloat(plain, 64); err == nil {
			return TagFloat
		}
	}
	switch {
	case strings.HasPrefix(plain, "0b"):
		if parsesInt(plain[2:], 2) {
			return TagInt
		}
	case strings.HasPrefix(plain, "-0b"):
		if _, err := strconv.ParseInt("-"+plain[3:], 2, 64); err == nil {
			return TagInt
		}
	}
	switch {
	case strings.HasPrefix(plain, "0o"):
		if parsesInt(plain[2:], 8) {
			return TagInt
		}
	case strings.HasPrefix(plain, "-0o"):
		if _, err := strconv.ParseInt("-"+plain[3:], 8, 64); err == nil {
			return TagInt
		}
	}
	return TagStr
}

func parsesInt(s string, base int) bool {
	if _, err := strconv.ParseInt(s, base, 64); err == nil {
		return true
	}
	_, err := strconv.ParseUint(s, base, 64)
	return err == nil
}

// isYAMLFloat matches ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$.
func isYAMLFloat(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	} else {
		if digits() == 0 {
			return false
		}
		if i < len(s) && s[i] == '.' {
			i++
			digits()
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '-' || s[i] == '+') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

var timestampFormats = []string{
	"2006-1-2T15:4:5.999999999Z07:00",
	"2006-1-2t15:4:5.999999999Z07:00",
	"2006-1-2 15:4:5.999999999",
	"2006-1-2",
}

// isTimestamp mirrors yaml.v3: four digits, a '-', then one of its accepted layouts.
func isTimestamp(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		if c := s[i]; c < '0' || c > '9' {
			break
		}
	}
	if i != 4 || i == len(s) || s[i] != '-' {
		return false
	}
	for _, f := range timestampFormats {
		if _, err := time.Parse(f, s); err == nil {
			return true
		}
	}
	return false
}
