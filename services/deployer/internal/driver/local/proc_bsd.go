//go:build unix && !linux

package local

import "syscall"

// sysProcAttr puts the process in its own group, so that Stop reaches its
// children too. These systems have no Pdeathsig: a process outlives a
// deployer that dies without Close.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
