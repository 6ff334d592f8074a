//go:build !linux

package main

import "syscall"

// minioProcAttr: no process attributes outside Linux.
func minioProcAttr() *syscall.SysProcAttr { return nil }
