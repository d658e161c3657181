//go:build !unix

package local

import (
	"os"
	"syscall"
)

// sysProcAttr: no process groups here.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// interrupt cannot send SIGTERM on this system; it kills the process.
func interrupt(p *os.Process) error { return p.Kill() }

// kill kills the process (not its children).
func kill(p *os.Process) error { return p.Kill() }
