package main

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/testkit"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// demoappBinary builds the command once per test run with `go build`.
func demoappBinary(t *testing.T) string {
	t.Helper()
	// `go test` puts its own go command first on PATH, so it is always found
	// here; not finding it is a broken environment, not a reason to pass.
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("go tool not found:", err)
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "demoapp-test-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "demoapp")
		out, err := exec.Command(goTool, "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func TestProcessServesAndStopsOnSIGTERM(t *testing.T) {
	cmd := exec.Command(demoappBinary(t), "--listen", "127.0.0.1:0", "--error-rate", "0")
	cmd.Env = append(os.Environ(), "DEMOAPP_VERSION=9.9.9-proc", "DEMOAPP_ERROR_RATE=1")
	var stderr testkit.SyncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{}) // closed when Wait returns, with waitErr set
	var waitErr error
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
	})

	lines := bufio.NewReader(stdout)
	ready := make(chan string, 1)
	go func() {
		line, _ := lines.ReadString('\n')
		ready <- line
		io.Copy(io.Discard, lines)
		waitErr = cmd.Wait()
		close(exited)
	}()
	var line string
	select {
	case line = <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("no ready line within 10s; stderr: " + stderr.String())
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "demoapp 9.9.9-proc listening on ")
	if !ok || strings.HasSuffix(addr, ":0") {
		t.Fatalf("ready line = %q; stderr: %s", line, stderr.String())
	}

	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 5 * time.Second}).Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	// The flag (--error-rate 0) wins over the environment (1).
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Demoapp-Version") != "9.9.9-proc" {
		t.Fatalf("GET / = %d, version %q; want 200 from 9.9.9-proc", resp.StatusCode, resp.Header.Get("X-Demoapp-Version"))
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
		if waitErr != nil {
			t.Fatalf("exit after SIGTERM: %v; stderr: %s", waitErr, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still running 10s after SIGTERM")
	}
}

func TestProcessBadConfigExits2(t *testing.T) {
	bin := demoappBinary(t)
	for _, tc := range []struct {
		args []string
		env  string
		want []string
	}{
		{[]string{"--error-rate", "1.5"}, "", []string{"--error-rate", "DEMOAPP_ERROR_RATE"}},
		{nil, "DEMOAPP_LATENCY=-5ms", []string{"--latency", "DEMOAPP_LATENCY"}},
	} {
		cmd := exec.Command(bin, tc.args...)
		cmd.Env = os.Environ()
		if tc.env != "" {
			cmd.Env = append(cmd.Env, tc.env)
		}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Errorf("demoapp %v (%s): %v, want exit status 2; output: %s", tc.args, tc.env, err, out)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("demoapp %v (%s): output %q does not mention %q", tc.args, tc.env, out, w)
			}
		}
	}
}
