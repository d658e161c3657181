//go:build unix

package execdriver

import (
	"os/exec"
	"syscall"
)

// ownGroup runs the command in its own process group and has the timeout or
// the end of the context kill the whole group.
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}
