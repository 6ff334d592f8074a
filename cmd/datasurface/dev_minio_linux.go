package main

import "syscall"

// minioProcAttr puts MinIO in its own process group (a Ctrl-C in the terminal reaches dev,
// which stops MinIO after the services) and kills it when dev dies.
func minioProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
