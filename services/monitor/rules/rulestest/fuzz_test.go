package rulestest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad: whatever a test file holds, loading it never panics, and a file
// it refuses is refused with a *FileError listing the problems.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.test.yaml")
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("tests: [{input_series: [{series: 'x{a=\"b\"}', values: '1+1x3 _ stale'}]}]"))
	rulesYAML, err := os.ReadFile("testdata/rules.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), rulesYAML, 0o600); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "fuzz.test.yaml")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := load(path)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) || len(fe.Problems) == 0 {
				t.Fatalf("load error %T %v: want a *FileError with problems", err, err)
			}
			return
		}
		if s == nil {
			t.Fatal("no suite and no error")
		}
	})
}
