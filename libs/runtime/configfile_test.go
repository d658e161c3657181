package runtime_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/penguinmails/floe/libs/runtime"
)

func TestLoadYAMLFile(t *testing.T) {
	t.Parallel()
	type cfg struct {
		Name  string `yaml:"name"`
		Count int    `yaml:"count"`
	}
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c := cfg{Name: "default", Count: 3}
	if err := runtime.LoadYAMLFile(write("ok.yaml", "count: 5\n"), "test config", &c); err != nil || c != (cfg{Name: "default", Count: 5}) {
		t.Errorf("over defaults: %+v, %v", c, err)
	}
	if err := runtime.LoadYAMLFile(write("empty.yaml", ""), "test config", &c); err != nil || c.Count != 5 {
		t.Errorf("empty file: %+v, %v", c, err)
	}
	err := runtime.LoadYAMLFile(write("typo.yaml", "cuont: 1\n"), "test config", &c)
	if err == nil || !strings.Contains(err.Error(), "test config") || !strings.Contains(err.Error(), "cuont") {
		t.Errorf("unknown field: %v", err)
	}
	if err := runtime.LoadYAMLFile(filepath.Join(dir, "missing.yaml"), "test config", &c); err == nil || !strings.Contains(err.Error(), "test config") {
		t.Errorf("missing file: %v", err)
	}
}
