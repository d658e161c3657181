//go:build unix

package local

import (
	"os"
	"syscall"
)

// interrupt sends SIGTERM to the process's group.
func interrupt(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGTERM) }

// kill sends SIGKILL to the process's group.
func kill(p *os.Process) error { return syscall.Kill(-p.Pid, syscall.SIGKILL) }
