package names

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseLocationKey(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    LocationKey
		wantErr string // the LocationKeyError reason
	}{
		{"one level", "Acme:EU", LocationKey{Vendor: "Acme", Path: []string{"EU"}}, ""},
		{"two levels", "Acme:EU/Frankfurt", LocationKey{Vendor: "Acme", Path: []string{"EU", "Frankfurt"}}, ""},
		{"spaces inside names", "Big Co:North America/New York", LocationKey{Vendor: "Big Co", Path: []string{"North America", "New York"}}, ""},
		{"no colon", "Acme", LocationKey{}, "there is no ':' after the vendor"},
		{"two colons", "Acme:EU:West", LocationKey{}, "it must contain exactly one ':'"},
		{"empty vendor", ":EU", LocationKey{}, "the vendor is empty"},
		{"no location", "Acme:", LocationKey{}, "there is no location after ':'"},
		{"empty part", "Acme:EU//Frankfurt", LocationKey{}, "it has an empty location part"},
		{"leading slash in path", "Acme:/EU", LocationKey{}, "it has an empty location part"},
		{"trailing slash", "Acme:EU/", LocationKey{}, "it has an empty location part"},
		{"starts with slash", "/Acme:EU", LocationKey{}, "it must not start with '/'"},
		{"empty", "", LocationKey{}, "there is no ':' after the vendor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseLocationKey(tt.in)
			var reason string
			if le := (*LocationKeyError)(nil); errors.As(err, &le) {
				reason = le.Reason
			} else if err != nil {
				t.Fatalf("error %v is not a LocationKeyError", err)
			}
			if diff := cmp.Diff(tt.wantErr, reason); diff != "" {
				t.Errorf("reason mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseLocationKey(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			if err == nil && got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestLocationKeyCovers(t *testing.T) {
	tests := []struct {
		name string
		k, o string
		want bool
	}{
		{"itself", "Acme:EU", "Acme:EU", true},
		{"child", "Acme:EU", "Acme:EU/Frankfurt", true},
		{"grandchild", "Acme:EU", "Acme:EU/Frankfurt/DC1", true},
		{"parent is not covered", "Acme:EU/Frankfurt", "Acme:EU", false},
		{"sibling", "Acme:EU/Frankfurt", "Acme:EU/Dublin", false},
		{"name prefix is not a path prefix", "Acme:EU", "Acme:EUROPE", false},
		{"other vendor", "Acme:EU", "AWS:EU", false},
		{"case matters", "Acme:EU", "Acme:eu", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err1 := ParseLocationKey(tt.k)
			o, err2 := ParseLocationKey(tt.o)
			if err := errors.Join(err1, err2); err != nil {
				t.Fatal(err)
			}
			if got := k.Covers(o); got != tt.want {
				t.Errorf("%s.Covers(%s) = %v, want %v", tt.k, tt.o, got, tt.want)
			}
		})
	}
}

func FuzzParseLocationKey(f *testing.F) {
	for _, s := range []string{"Acme:EU", "Acme:EU/Frankfurt", "::", "/:x", "a:b//c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseLocationKey(s)
		if err != nil {
			return
		}
		if k.String() != s {
			t.Fatalf("String() = %q, want %q", k.String(), s)
		}
		if k.Vendor == "" || len(k.Path) == 0 || strings.Contains(k.Vendor, ":") {
			t.Fatalf("valid key %q parsed as %+v", s, k)
		}
		if !k.Covers(k) {
			t.Fatalf("%q does not cover itself", s)
		}
	})
}
