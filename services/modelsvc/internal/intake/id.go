package intake

import (
	"crypto/rand"
	"encoding/binary"
	"time"
)

// crockford is the Crockford base-32 alphabet used by ULIDs.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IDLength is the length of a proposal id.
const IDLength = 26

// NewID returns a proposal id: a ULID (48-bit millisecond time, 80 random bits from crypto/rand,
// 26 Crockford base-32 characters), so ids sort by creation time and are safe in NATS subjects.
func NewID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	_, _ = rand.Read(b[6:]) // never fails (crypto/rand panics on failure since Go 1.24)
	// 128 bits → 26 characters of 5 bits; the first character carries the top 3 bits.
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var out [IDLength]byte
	for i := IDLength - 1; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// IsID reports whether s has the form of a proposal id.
func IsID(s string) bool {
	if len(s) != IDLength || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z') || c == 'I' || c == 'L' || c == 'O' || c == 'U' {
			return false
		}
	}
	return true
}
