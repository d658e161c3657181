package driver_test

import (
	"testing"

	"github.com/penguinmails/floe/services/deployer/internal/driver"
)

func TestArtifactAndWithConfig(t *testing.T) {
	for _, tc := range []struct {
		artifact string
		n        uint64
		version  string
	}{
		{"1.2.0", 3, "1.2.0+config.3"},
		{"1.2.0+build.7", 3, "1.2.0+build.7.config.3"},
		{"1.2.0+config.2", 5, "1.2.0+config.5"}, // a rollout over a rollout runs the same artifact
		{"2.0.0-rc.1", 1, "2.0.0-rc.1+config.1"},
	} {
		if got := driver.WithConfig(tc.artifact, tc.n); got != tc.version {
			t.Errorf("WithConfig(%q, %d) = %q, want %q", tc.artifact, tc.n, got, tc.version)
		}
		if got, want := driver.Artifact(tc.version), driver.Artifact(tc.artifact); got != want {
			t.Errorf("Artifact(%q) = %q, want %q", tc.version, got, want)
		}
	}
	for _, v := range []string{"1.2.0", "1.2.0+config", "1.2.0+config.x", "1.2.0+build.config.3a", "1.2.0+config.3.x"} {
		if got := driver.Artifact(v); got != v {
			t.Errorf("Artifact(%q) = %q: it has no configuration suffix", v, got)
		}
	}
}
