//go:build !linux

package temporalserver

import "syscall"

func procAttr() *syscall.SysProcAttr { return nil }
