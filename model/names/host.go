package names

import "net"

// MaxHostLen is the longest host name accepted (spec/model.md §4.9).
const MaxHostLen = 253

// ValidHost reports whether h is an IPv4 or IPv6 literal (without brackets or zone), or a host
// name of at most 253 characters whose dot-separated labels are 1–63 characters of
// [A-Za-z0-9_-] and whose last label is not all digits (spec/model.md §4.9). Underscores are
// allowed for Kubernetes service names; a trailing dot (an empty last label) is not.
func ValidHost(h string) bool {
	if h == "" {
		return false
	}
	if ipLiteral(h) {
		return net.ParseIP(h) != nil
	}
	if len(h) > MaxHostLen {
		return false
	}
	labelLen, digitsOnly := 0, true
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c == '.':
			if labelLen == 0 {
				return false
			}
			labelLen, digitsOnly = 0, true
			continue
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '-':
			digitsOnly = false
		default:
			return false
		}
		labelLen++
		if labelLen > 63 {
			return false
		}
	}
	return labelLen > 0 && !digitsOnly
}

// ValidPort reports whether p is a TCP port number, 1–65535 (port 0 is invalid, spec/model.md §9).
func ValidPort(p int64) bool { return p >= 1 && p <= 65535 }

// ipLiteral reports whether h can only be meant as an IP address: it contains ':' (IPv6) or
// consists of digits and dots (IPv4). Everything else is validated as a host name, which keeps
// the common case free of allocations.
func ipLiteral(h string) bool {
	for i := 0; i < len(h); i++ {
		if c := h[i]; c == ':' {
			return true
		} else if c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
