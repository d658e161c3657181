//go:build !unix

package execdriver

import "os/exec"

// ownGroup: there are no process groups here; the timeout or the end of the
// context kills the command's process only (exec.CommandContext's default).
func ownGroup(*exec.Cmd) {}
