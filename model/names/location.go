package names

import (
	"fmt"
	"strings"
)

// LocationKey is a parsed location key `Vendor:L1/L2/…/Ln` (spec/model.md §4.2).
type LocationKey struct {
	Vendor string
	// Path holds the location names from the vendor's root, at least one.
	Path []string
}

// String renders the key back as `Vendor:L1/L2`.
func (k LocationKey) String() string { return k.Vendor + ":" + strings.Join(k.Path, "/") }

// Covers reports whether k covers o: same vendor and k's path is a prefix of o's (a key covers
// its node and all descendants).
func (k LocationKey) Covers(o LocationKey) bool {
	if k.Vendor != o.Vendor || len(k.Path) == 0 || len(k.Path) > len(o.Path) {
		return false
	}
	for i, p := range k.Path {
		if o.Path[i] != p {
			return false
		}
	}
	return true
}

// LocationKeyError says why a string is not a location key.
type LocationKeyError struct {
	Key    string
	Reason string
}

func (e *LocationKeyError) Error() string {
	return fmt.Sprintf("location %q is not of the form Vendor:Location[/Sub…]: %s", e.Key, e.Reason)
}

// ParseLocationKey parses a location key: exactly one ':'; a non-empty vendor part; at least one
// location part; no empty part; not starting with '/'. The error is a *LocationKeyError.
func ParseLocationKey(s string) (LocationKey, error) {
	fail := func(reason string) (LocationKey, error) {
		return LocationKey{}, &LocationKeyError{Key: s, Reason: reason}
	}
	colon := strings.IndexByte(s, ':')
	switch {
	case strings.HasPrefix(s, "/"):
		return fail("it must not start with '/'")
	case colon < 0:
		return fail("there is no ':' after the vendor")
	case strings.IndexByte(s[colon+1:], ':') >= 0:
		return fail("it must contain exactly one ':'")
	case colon == 0:
		return fail("the vendor is empty")
	case colon == len(s)-1:
		return fail("there is no location after ':'")
	}
	rest := s[colon+1:]
	path := make([]string, 0, strings.Count(rest, "/")+1)
	for part := range strings.SplitSeq(rest, "/") {
		if part == "" {
			return fail("it has an empty location part")
		}
		path = append(path, part)
	}
	return LocationKey{Vendor: s[:colon], Path: path}, nil
}
