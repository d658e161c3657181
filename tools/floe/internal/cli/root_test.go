package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for addr, want := range map[string]bool{
		"127.0.0.1:7400": true, "localhost:7400": true, "[::1]:7400": true, "127.1.2.3:1": true,
		"10.0.0.1:7400": false, "floe.example.com:443": false, "0.0.0.0:7400": false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestYAMLWriter: JSON documents written in pieces become YAML documents,
// in order, separated; strings that would read as numbers or booleans stay
// strings; text that is not JSON passes through.
func TestYAMLWriter(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	y := newYAMLWriter(&b)
	for _, p := range []string{`{"id": "r1", "version": "1.0", "ok": true,`, ` "n": 3, "flag": "true", "envs": ["dev", "prod"]}` + "\n", `{"id": "r2"}` + "\n", "plain text\n"} {
		if _, err := y.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	want := "id: r1\nversion: \"1.0\"\nok: true\nn: 3\nflag: \"true\"\nenvs:\n  - dev\n  - prod\n---\nid: r2\nplain text\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestBadOutputFormat(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	err := Execute(context.Background(), []string{"--token", "floe_x", "-o", "xml", "whoami"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "--output") || !strings.Contains(err.Error(), "yaml") {
		t.Errorf("-o xml = %v, want an error naming --output and the formats", err)
	}
}

func TestNoTokenExplainsHowToGetOne(t *testing.T) {
	t.Setenv("FLOE_TOKEN", "")
	var out, errOut bytes.Buffer
	err := Execute(context.Background(), []string{"--credentials", "/nonexistent/dev-credentials.yaml", "whoami"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "floe dev") {
		t.Errorf("no token = %v, want advice to start floe dev or pass --token", err)
	}
}

func TestHelpListsCommands(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if err := Execute(context.Background(), []string{"--help"}, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"dev", "whoami", "info", "audit", "version"} {
		if !strings.Contains(out.String(), cmd) {
			t.Errorf("--help does not list %s:\n%s", cmd, out.String())
		}
	}
}
