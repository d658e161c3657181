package render

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

var kinds = []string{routing.KindSlack, routing.KindEmail, routing.KindSMS, routing.KindWebhook}

// TestGolden renders every sample for every kind with the default templates
// and compares the preview with testdata/<kind>/<sample>.golden.
func TestGolden(t *testing.T) {
	t.Parallel()
	for _, kind := range kinds {
		rs, err := Preview(kind, nil, Options{ExternalURL: sampleURL})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			t.Run(kind+"/"+r.Sample, func(t *testing.T) {
				t.Parallel()
				if len(r.Warnings) > 0 {
					t.Errorf("warnings with the defaults: %q", r.Warnings)
				}
				golden(t, filepath.Join("testdata", kind, r.Sample+".golden"), r.String())
			})
		}
	}
}

// golden compares got with the file at path, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got), run go test -run TestGolden -update if intended:\n%s", path, diff)
	}
}
