package demoapp

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func envFunc(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

func TestParseConfigPrecedence(t *testing.T) {
	defaults := Config{Listen: "127.0.0.1:8080", Version: "dev"}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want Config
	}{
		{name: "defaults", want: defaults},
		{
			name: "env over default",
			env: map[string]string{
				"DEMOAPP_LISTEN": "127.0.0.1:0", "DEMOAPP_VERSION": "1.1.0", "DEMOAPP_ERROR_RATE": "0.25",
				"DEMOAPP_LATENCY": "150ms", "DEMOAPP_LATENCY_JITTER": "1s", "DEMOAPP_FAIL_HEALTH": "true", "DEMOAPP_SEED": "99",
			},
			want: Config{Listen: "127.0.0.1:0", Version: "1.1.0", ErrorRate: 0.25, Latency: 150 * time.Millisecond,
				LatencyJitter: time.Second, FailHealth: true, Seed: 99},
		},
		{
			name: "flag over env",
			args: []string{"--version", "2.0.0", "--error-rate=1", "--fail-health=false", "--latency", "0s", "-seed", "-5"},
			env: map[string]string{
				"DEMOAPP_VERSION": "1.1.0", "DEMOAPP_ERROR_RATE": "0.25", "DEMOAPP_FAIL_HEALTH": "true",
				"DEMOAPP_LATENCY": "not a duration", "DEMOAPP_SEED": "99",
			},
			want: Config{Listen: "127.0.0.1:8080", Version: "2.0.0", ErrorRate: 1, Seed: -5},
		},
		{
			name: "bare bool flag",
			args: []string{"--fail-health"},
			want: Config{Listen: "127.0.0.1:8080", Version: "dev", FailHealth: true},
		},
		{
			name: "empty env is unset",
			env:  map[string]string{"DEMOAPP_VERSION": "", "DEMOAPP_ERROR_RATE": ""},
			want: defaults,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseConfig(tc.args, envFunc(tc.env), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("config (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want []string // substrings of the error
	}{
		{"error rate above 1", []string{"--error-rate", "1.5"}, nil, []string{"--error-rate", "DEMOAPP_ERROR_RATE", "between 0 and 1"}},
		{"error rate negative env", nil, map[string]string{"DEMOAPP_ERROR_RATE": "-0.1"}, []string{"--error-rate", "from DEMOAPP_ERROR_RATE", "between 0 and 1"}},
		{"error rate NaN", []string{"--error-rate", "NaN"}, nil, []string{"--error-rate", "DEMOAPP_ERROR_RATE"}},
		{"error rate not a number", []string{"--error-rate", "lots"}, nil, []string{"--error-rate", "not a number"}},
		{"negative latency", []string{"--latency", "-1ms"}, nil, []string{"--latency", "DEMOAPP_LATENCY", "negative"}},
		{"negative jitter env", nil, map[string]string{"DEMOAPP_LATENCY_JITTER": "-2s"}, []string{"--latency-jitter", "DEMOAPP_LATENCY_JITTER", "negative"}},
		{"latency without unit", []string{"--latency", "100"}, nil, []string{"--latency", "not a duration"}},
		{"bad bool env", nil, map[string]string{"DEMOAPP_FAIL_HEALTH": "sometimes"}, []string{"--fail-health", "DEMOAPP_FAIL_HEALTH"}},
		{"bad seed", []string{"--seed", "1.5"}, nil, []string{"--seed", "DEMOAPP_SEED"}},
		{"bad listen", []string{"--listen", "8080"}, nil, []string{"--listen", "DEMOAPP_LISTEN", "host:port"}},
		{"empty version", []string{"--version", ""}, nil, []string{"--version", "DEMOAPP_VERSION", "empty"}},
		{"version with space", nil, map[string]string{"DEMOAPP_VERSION": "1 2"}, []string{"--version", "DEMOAPP_VERSION"}},
		{"unknown flag", []string{"--bogus"}, nil, []string{"bogus"}},
		{"positional argument", []string{"serve"}, nil, []string{`unexpected argument "serve"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig(tc.args, envFunc(tc.env), io.Discard)
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("error = %v, want a usage error", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestParseConfigHelp(t *testing.T) {
	var help strings.Builder
	_, err := parseConfig([]string{"-h"}, envFunc(nil), &help)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("error = %v, want flag.ErrHelp", err)
	}
	for _, w := range []string{"--error-rate", "DEMOAPP_ERROR_RATE", "-latency-jitter", "DEMOAPP_SEED"} {
		w = strings.TrimLeft(w, "-")
		if !strings.Contains(help.String(), w) {
			t.Errorf("help does not mention %q:\n%s", w, help.String())
		}
	}
}

func TestConfigValidate(t *testing.T) {
	ok := testConfig()
	if err := ok.validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	bad := ok
	bad.LatencyJitter = -time.Second
	if err := bad.validate(); err == nil || !strings.Contains(err.Error(), "--latency-jitter (env DEMOAPP_LATENCY_JITTER)") {
		t.Fatalf("negative jitter: %v", err)
	}
}
