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

func TestBadOutputFormat(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	err := Execute(context.Background(), []string{"--token", "floe_x", "-o", "yaml", "whoami"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "--output") {
		t.Errorf("-o yaml = %v, want an error naming --output", err)
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
