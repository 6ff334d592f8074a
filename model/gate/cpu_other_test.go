//go:build !unix

package gate_test

import "time"

// cpuTime is not measured on this platform.
func cpuTime() time.Duration { return 0 }
