package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/penguinmails/floe/services/deployer/internal/driver"
)

const (
	// tailLines is how many lines of a process's output errors quote.
	tailLines = 20
	// maxLine cuts output lines that never end.
	maxLine = 4096
	// killWait bounds the wait for a process after SIGKILL.
	killWait = 10 * time.Second
)

// instance is one running process of a version.
type instance struct {
	target   driver.Target
	version  string
	pid      int
	addr     string // 127.0.0.1:port
	cmd      *exec.Cmd
	out      *tail
	backend  *backend
	stopping atomic.Bool   // set before the driver signals the process
	done     chan struct{} // closed when the process has been waited for
	waitErr  error         // cmd.Wait's result; read after done
}

// exited reports whether the process has ended and how.
func (i *instance) exited() (bool, error) {
	select {
	case <-i.done:
		return true, i.waitErr
	default:
		return false, nil
	}
}

// launch starts a process for v and waits until it is healthy.
func (d *Driver) launch(ctx context.Context, t driver.Target, v driver.Version) (*instance, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("pick a port: %w", err)
	}
	data := templateData{Port: port, Version: v.Version, Artifact: driver.Artifact(v.Version), Environment: t.Environment, App: t.App, ReleaseID: v.ReleaseID}
	args := make([]string, len(d.command))
	for i, tm := range d.command {
		var b strings.Builder
		if err := tm.Execute(&b, data); err != nil {
			return nil, fmt.Errorf("render %s: %w", tm.Name(), err)
		}
		args[i] = b.String()
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = d.cfg.Dir
	cmd.Env = processEnv(t, v, port)
	out := &tail{emit: func(line string) { d.logLine(t, v.Version, line) }}
	cmd.Stdout = out // the same writer for both: exec then writes from one goroutine
	cmd.Stderr = out
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = time.Second // do not wait forever for pipes held open by grandchildren
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("run %q: %w", args[0], err)
	}
	inst := &instance{
		target:  t,
		version: v.Version,
		pid:     cmd.Process.Pid,
		addr:    net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		cmd:     cmd,
		out:     out,
		done:    make(chan struct{}),
	}
	go func() {
		err := cmd.Wait()
		out.flush()
		if !inst.stopping.Load() {
			d.logf(t, v.Version, "floe: process %d exited: %s", inst.pid, exitText(err))
		}
		inst.waitErr = err
		close(inst.done)
	}()
	if err := d.awaitHealthy(ctx, inst); err != nil {
		d.terminate(context.Background(), inst)
		return nil, err
	}
	inst.backend = d.newBackend(t, v.Version, inst.addr)
	return inst, nil
}

// awaitHealthy polls the instance's health path until it answers 200, the
// process exits, StartTimeout passes, ctx ends or the driver closes.
func (d *Driver) awaitHealthy(ctx context.Context, inst *instance) error {
	sctx, cancel := context.WithTimeout(ctx, d.cfg.StartTimeout)
	defer cancel()
	interval := 10 * time.Millisecond
	var last error
	for {
		if exited, werr := inst.exited(); exited {
			return fmt.Errorf("process %d exited (%s) before %s answered 200%s", inst.pid, exitText(werr), d.cfg.HealthPath, inst.out.text())
		}
		pctx, pcancel := context.WithTimeout(sctx, time.Second)
		last = d.probe(pctx, inst)
		pcancel()
		if last == nil {
			return nil
		}
		timer := time.NewTimer(interval)
		select {
		case <-inst.done:
		case <-timer.C:
		case <-d.closing:
			timer.Stop()
			return ErrClosed
		case <-sctx.Done():
			timer.Stop()
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("%w while waiting for %s to answer 200 (last: %v)", err, d.cfg.HealthPath, last)
			}
			return fmt.Errorf("not healthy %v after start (last: %v)%s", d.cfg.StartTimeout, last, inst.out.text())
		}
		timer.Stop()
		interval = min(interval*3/2, 200*time.Millisecond)
	}
}

// terminate ends the process: SIGTERM to its group, SIGKILL after StopGrace
// or when ctx ends. It returns once the process has been waited for.
func (d *Driver) terminate(ctx context.Context, inst *instance) {
	inst.stopping.Store(true)
	if exited, _ := inst.exited(); exited {
		return
	}
	_ = interrupt(inst.cmd.Process)
	grace := time.NewTimer(d.cfg.StopGrace)
	defer grace.Stop()
	select {
	case <-inst.done:
		return
	case <-grace.C:
	case <-ctx.Done():
	}
	_ = kill(inst.cmd.Process)
	select {
	case <-inst.done:
	case <-time.After(killWait):
		d.logLine(inst.target, inst.version, fmt.Sprintf("floe: process %d did not exit %v after SIGKILL", inst.pid, killWait))
	}
}

// processEnv is the deployer's environment, then Version.Config, then
// Version.Secrets (a secret's value replaces its reference in Config), then
// the variables the driver sets.
func processEnv(t driver.Target, v driver.Version, port int) []string {
	env := os.Environ()
	for _, k := range slices.Sorted(maps.Keys(v.Config)) {
		env = append(env, k+"="+v.Config[k])
	}
	env = driver.SecretEnv(env, v.Secrets)
	return append(env,
		"FLOE_VERSION="+v.Version,
		"FLOE_ARTIFACT="+driver.Artifact(v.Version),
		"FLOE_ENVIRONMENT="+t.Environment,
		"FLOE_APP="+t.App,
		"FLOE_RELEASE_ID="+v.ReleaseID,
		"PORT="+strconv.Itoa(port),
	)
}

// freePort asks the kernel for a free port on 127.0.0.1. Another process may
// take it before ours binds it; Start then fails with the process's output.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// exitText describes cmd.Wait's result.
func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.Error()
	}
	return err.Error()
}

// tail is a process's stdout and stderr: it passes complete lines to emit and
// keeps the last tailLines of them.
type tail struct {
	emit func(string)

	mu      sync.Mutex
	partial []byte
	lines   []string
}

func (w *tail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			if len(w.partial) >= maxLine {
				w.line(w.partial)
			}
			break
		}
		w.partial = append(w.partial, p[:i]...)
		w.line(w.partial)
		p = p[i+1:]
	}
	return n, nil
}

// line records and emits the buffered line and empties the buffer. Call with w.mu held.
func (w *tail) line(b []byte) {
	s := strings.TrimRight(string(b), "\r")
	w.partial = w.partial[:0]
	if len(w.lines) == tailLines {
		copy(w.lines, w.lines[1:])
		w.lines = w.lines[:tailLines-1]
	}
	w.lines = append(w.lines, s)
	if w.emit != nil {
		w.emit(s)
	}
}

// flush emits an unfinished last line.
func (w *tail) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.partial) > 0 {
		w.line(w.partial)
	}
}

// text is the kept output for an error message: "; last output:" and the
// lines, indented, or "; no output".
func (w *tail) text() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := w.lines
	if len(w.partial) > 0 {
		lines = append(slices.Clip(lines), string(w.partial))
	}
	if len(lines) == 0 {
		return "; no output"
	}
	return "; last output:\n\t" + strings.Join(lines, "\n\t")
}
