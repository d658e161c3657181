package local

import "syscall"

// sysProcAttr puts the process in its own group, so that Stop reaches its
// children too, and has the kernel kill it when the deployer dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
