package names

import (
	"strings"
	"testing"
)

func TestValidHost(t *testing.T) {
	label63 := strings.Repeat("a", 63)
	tests := []struct {
		name string
		host string
		want bool
	}{
		{"simple name", "db", true},
		{"dotted name", "sales-db.acme.internal", true},
		{"kubernetes service with underscore", "my_svc.ns.svc.cluster.local", true},
		{"digits in non-last label", "10gen.example.com", true},
		{"last label mixed", "host.1a", true},
		{"ipv4", "192.0.2.1", true},
		{"ipv6", "2001:db8::1", true},
		{"ipv6 loopback", "::1", true},
		{"ipv4-mapped ipv6", "::ffff:192.0.2.1", true},
		{"label of 63", label63 + ".com", true},
		{"empty", "", false},
		{"five numeric labels", "192.0.2.1.1", false},
		{"ipv4 out of range", "192.0.2.256", false},
		{"ipv4 leading zero", "192.0.2.01", false},
		{"all digits", "12345", false},
		{"label of 64", strings.Repeat("a", 64) + ".com", false},
		{"trailing dot", "example.com.", false},
		{"leading dot", ".example.com", false},
		{"empty label", "a..b", false},
		{"space", "db host", false},
		{"port included", "db:5432", false},
		{"bracketed ipv6", "[::1]", false},
		{"ipv6 zone", "fe80::1%eth0", false},
		{"unicode", "bücher.example", false},
		{"too long", strings.Repeat(label63+".", 4) + "a", false},
		{"253 chars", strings.Repeat(label63+".", 3) + strings.Repeat("a", 61), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidHost(tt.host); got != tt.want {
				t.Errorf("ValidHost(%q) = %v, want %v", tt.host, got, tt.want)
			}
		})
	}
}

func TestValidPort(t *testing.T) {
	tests := []struct {
		name string
		port int64
		want bool
	}{
		{"zero", 0, false},
		{"one", 1, true},
		{"postgres", 5432, true},
		{"max", 65535, true},
		{"above max", 65536, false},
		{"negative", -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidPort(tt.port); got != tt.want {
				t.Errorf("ValidPort(%d) = %v, want %v", tt.port, got, tt.want)
			}
		})
	}
}
