package execdriver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/penguinmails/floe/services/deployer/internal/driver"
)

// MaxOutput is how much of a command's output (stdout and stderr together)
// the driver keeps for the Logger and for errors: the last 64 KiB.
const MaxOutput = 64 << 10

const (
	// waitDelay is how long the driver keeps reading a command's output
	// after the command exited (processes it left behind may hold it open),
	// or after it was killed.
	waitDelay = 2 * time.Second
	// maxStateOutput bounds the stdout of the State command.
	maxStateOutput = 4 << 20
)

// CommandError is the error of a command that failed: it exited with a
// non-zero status, was killed, timed out or could not start.
type CommandError struct {
	// Op is the operation: "Start", "SetWeights", "Check", "Stop" or "State".
	Op string
	// Target is the target operated on.
	Target driver.Target
	// Version is the version operated on; "" for State.
	Version string
	// Args is the rendered command.
	Args []string
	// ExitCode is the command's exit status, or -1 when it did not exit on
	// its own (killed, timed out, interrupted, not started).
	ExitCode int
	// TimedOut is set when the command ran longer than Config.Timeout and
	// was killed.
	TimedOut bool
	// Timeout is Config.Timeout, when TimedOut is set.
	Timeout time.Duration
	// Duration is how long the command ran.
	Duration time.Duration
	// Output is the end of the command's stdout and stderr, at most
	// MaxOutput bytes; when cut, it starts at a line boundary.
	Output string
	// Truncated is set when Output is not all of the output.
	Truncated bool
	// Err is the underlying error: an *exec.ExitError, the context's error
	// (context.DeadlineExceeded on a timeout), or why the command could not
	// start.
	Err error
}

// Error names the operation and the command, says how the command ended,
// and quotes its output. (The driver's errors wrap it with the target and
// the version.)
func (e *CommandError) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(" command ")
	b.WriteString(quoteArgs(e.Args))
	var ee *exec.ExitError
	switch {
	case e.TimedOut:
		fmt.Fprintf(&b, " timed out after %v and was killed with its process group", e.Timeout)
	case errors.Is(e.Err, context.Canceled) || errors.Is(e.Err, context.DeadlineExceeded):
		fmt.Fprintf(&b, " was interrupted (%v) after %v and killed with its process group", e.Err, e.Duration.Round(time.Millisecond))
	case e.ExitCode >= 0:
		fmt.Fprintf(&b, " exited with status %d after %v", e.ExitCode, e.Duration.Round(time.Millisecond))
	case errors.As(e.Err, &ee):
		fmt.Fprintf(&b, " ended by %v after %v", ee, e.Duration.Round(time.Millisecond))
	default:
		fmt.Fprintf(&b, " could not run: %v", e.Err)
	}
	out := strings.TrimRight(e.Output, "\n")
	switch {
	case out == "":
		b.WriteString("; no output")
	default:
		b.WriteString("; last output:")
		if e.Truncated {
			b.WriteString("\n\t[…]")
		}
		for line := range strings.SplitSeq(out, "\n") {
			b.WriteString("\n\t")
			b.WriteString(strings.TrimRight(line, "\r"))
		}
	}
	return b.String()
}

// Unwrap returns Err.
func (e *CommandError) Unwrap() error { return e.Err }

// opPrefix starts the driver's error messages: "exec driver: Start 1.2.0 in
// demo@staging: ".
func opPrefix(op string, t driver.Target, version string) string {
	if version == "" {
		return fmt.Sprintf("exec driver: %s of %s: ", op, t)
	}
	return fmt.Sprintf("exec driver: %s %s in %s: ", op, version, t)
}

// opError prefixes err with the operation, target and version.
func opError(op string, t driver.Target, version string, err error) error {
	return fmt.Errorf("%s%w", opPrefix(op, t, version), err)
}

// call is one run of an operation's command.
type call struct {
	op      string
	target  driver.Target
	version string
	tmpls   []*template.Template
	vars    Vars
	env     []string
	stdout  io.Writer // also receives stdout, if set
}

// run renders and runs the command and returns its rendered arguments; the
// caller prefixes its errors with the operation, target and version.
func (d *Driver) run(ctx context.Context, c call) ([]string, error) {
	argv, err := render(c.tmpls, c.vars)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return argv, fmt.Errorf("%s command %s not run: %w", c.op, quoteArgs(argv), err)
	}
	cctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, argv[0], argv[1:]...)
	cmd.Dir = d.cfg.Dir
	cmd.Env = c.env
	out := &tail{}
	if c.stdout != nil {
		cmd.Stdout = io.MultiWriter(c.stdout, out)
	} else {
		cmd.Stdout = out
	}
	cmd.Stderr = out
	ownGroup(cmd)
	cmd.WaitDelay = d.waitDelay

	prefix := c.target.String() + " " + c.op
	if c.version != "" {
		prefix += " " + c.version
	}
	d.log(prefix + " $ " + quoteArgs(argv))
	began := time.Now()
	err = cmd.Run()
	took := time.Since(began)
	output, truncated := out.text()

	ce := &CommandError{
		Op: c.op, Target: c.target, Version: c.version, Args: argv, ExitCode: -1,
		Duration: took, Output: output, Truncated: truncated, Err: err,
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		ce = nil
	case errors.Is(err, exec.ErrWaitDelay) && cctx.Err() == nil:
		// It exited with status 0, but something it left behind kept its
		// output open; that is not the command failing.
		ce = nil
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		// It exited on its own (the driver kills with SIGKILL, which
		// leaves no exit status), even if the context ended meanwhile.
		ce.ExitCode = ee.ExitCode()
	case ctx.Err() != nil:
		ce.Err = ctx.Err()
	case errors.Is(cctx.Err(), context.DeadlineExceeded):
		ce.TimedOut, ce.Timeout, ce.Err = true, d.cfg.Timeout, context.DeadlineExceeded
	}
	d.logResult(prefix, output, truncated, err, ce, took)
	if ce != nil {
		return argv, ce
	}
	return argv, nil
}

// logResult writes a command's output and how it ended to the Logger, one
// line per Write.
func (d *Driver) logResult(prefix, output string, truncated bool, err error, ce *CommandError, took time.Duration) {
	if d.cfg.Logger == nil {
		return
	}
	var lines []string
	if truncated {
		lines = append(lines, prefix+" | […]")
	}
	if out := strings.TrimRight(output, "\n"); out != "" {
		for line := range strings.SplitSeq(out, "\n") {
			lines = append(lines, prefix+" | "+strings.TrimRight(line, "\r"))
		}
	}
	took = took.Round(time.Millisecond)
	switch {
	case ce == nil && err != nil:
		lines = append(lines, fmt.Sprintf("%s: exit status 0 after %v (stopped reading the output of processes it left behind)", prefix, took))
	case ce == nil:
		lines = append(lines, fmt.Sprintf("%s: exit status 0 after %v", prefix, took))
	case ce.TimedOut:
		lines = append(lines, fmt.Sprintf("%s: timed out after %v; killed", prefix, ce.Timeout))
	case ce.ExitCode >= 0:
		lines = append(lines, fmt.Sprintf("%s: exit status %d after %v", prefix, ce.ExitCode, took))
	default:
		lines = append(lines, fmt.Sprintf("%s: %v after %v", prefix, ce.Err, took))
	}
	d.log(lines...)
}

// log writes lines to the Logger, one per Write, without interleaving them
// with other commands' lines.
func (d *Driver) log(lines ...string) {
	if d.cfg.Logger == nil {
		return
	}
	d.logMu.Lock()
	defer d.logMu.Unlock()
	for _, l := range lines {
		_, _ = io.WriteString(d.cfg.Logger, l+"\n")
	}
}

// tail keeps the last MaxOutput bytes written to it.
type tail struct {
	mu      sync.Mutex
	buf     []byte
	dropped bool
}

func (w *tail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if len(w.buf) > 2*MaxOutput {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-MaxOutput:]...)
		w.dropped = true
	}
	return len(p), nil
}

// text returns the kept output, starting at a line boundary if cut, and
// whether it was cut.
func (w *tail) text() (string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	b, cut := w.buf, w.dropped
	if len(b) > MaxOutput {
		b, cut = b[len(b)-MaxOutput:], true
	}
	if cut {
		if i := bytes.IndexByte(b, '\n'); i >= 0 && i < len(b)-1 {
			b = b[i+1:]
		}
	}
	return string(b), cut
}

// capBuffer keeps what is written to it up to max bytes and notes whether
// there was more. It never fails a Write, so the command's other output
// destinations keep getting everything.
type capBuffer struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	max  int
	over bool
}

func (c *capBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.over || c.buf.Len()+len(p) > c.max {
		c.over = true
		return len(p), nil
	}
	return c.buf.Write(p)
}
