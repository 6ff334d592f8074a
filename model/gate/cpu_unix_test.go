//go:build unix

package gate_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user + system) the process has used so far.
func cpuTime() time.Duration {
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		return 0
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}
