package notifiersvc_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/penguinmails/floe/services/notifier/notifiersvc"
)

// Without a file the notifier runs and tells no one; a bad file is refused
// at start with the path of each problem.
func TestLoad(t *testing.T) {
	if cfg, err := notifiersvc.Load(""); err != nil || cfg != nil {
		t.Fatalf("no file: %v, %v", cfg, err)
	}
	bad := filepath.Join(t.TempDir(), "n.yaml")
	if err := os.WriteFile(bad, []byte("receivers:\n  - name: x\n    kind: pigeon\nroute:\n  receivers: [y]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := notifiersvc.Load(bad)
	if err == nil || !strings.Contains(err.Error(), "receivers[0].kind") || !strings.Contains(err.Error(), "route.receivers") {
		t.Fatalf("a bad file: %v", err)
	}
	if _, err := notifiersvc.Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Fatal("a missing file is accepted")
	}
}
