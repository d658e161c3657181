package eventstore_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/eventstore/audit"
)

var updateDeploy = flag.Bool("update-deploy", false, "rewrite deploy/nats/*.json from the code")

// TestDeployStreamConfigs keeps the production stream definitions in deploy/
// identical to what the code creates and accepts.
func TestDeployStreamConfigs(t *testing.T) {
	for file, cfg := range map[string]jetstream.StreamConfig{
		"floe-events.json": eventstore.StreamConfig(eventstore.DefaultStream, 3),
		"floe-audit.json":  audit.AuditStreamConfig(audit.DefaultAuditStream, 3),
	} {
		path := filepath.Join("..", "..", "deploy", "nats", file)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false) // keep "floe.evt.>" readable
		if err := enc.Encode(cfg); err != nil {
			t.Fatal(err)
		}
		want := buf.Bytes()
		if *updateDeploy {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestDeployStreamConfigs -update-deploy)", err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s differs from the code (-code +file); run with -update-deploy:\n%s", path, diff)
		}
		var back jetstream.StreamConfig
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatal(err)
		}
		if file == "floe-events.json" {
			if err := eventstore.CheckStreamConfig(back); err != nil {
				t.Errorf("%s would be refused: %v", path, err)
			}
		}
	}
}
