package temporalserver

import "syscall"

// procAttr kills the dev server when the process that started it dies, so a crashed test
// binary leaves no server behind.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
