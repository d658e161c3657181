package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/testkit"
)

// TestAuditTrail appends events to the dev server's log as a service would,
// then drives the CLI: checkpoint, verify the live log, export a bundle,
// verify the bundle, and verify a tampered copy of it, which must fail naming
// the edited event.
func TestAuditTrail(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	d := startDev(t, dataDir)
	env := []string{"FLOE_CREDENTIALS=" + filepath.Join(dataDir, "dev-credentials.yaml"), "FLOE_TOKEN=", "FLOE_SERVER=", "FLOE_NATS_URL="}

	_, js := d.mustNATS(t, "release") // its NATS identity may append release events
	// Written as the release service (with its key from the data directory):
	// the log only accepts events its trust store's writers signed.
	key, err := eventstore.LoadKey(filepath.Join(dataDir, "keys", "release.key"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := eventstore.Open(ctx, js, eventstore.Options{Source: "floe/release", Aggregates: []string{"release"}, Signer: eventstore.NewSigner("floe/release", key)})
	if err != nil {
		t.Fatal(err)
	}
	// The monitor seeds its rules at start: wait for them, then count from there.
	testkit.Eventually(t, func() error {
		out, err := runCLI(t, ctx, env, "rules", "list")
		if err != nil {
			return fmt.Errorf("floe rules list: %v\n%s", err, out)
		}
		for _, rule := range []string{"high_error_rate", "error_rate", "response_time_p95"} {
			if !strings.Contains(out, rule) {
				return fmt.Errorf("the monitor's default rule %s has not appeared; floe rules list:\n%s", rule, out)
			}
		}
		return nil
	})
	base, err := store.LastSeq(ctx)
	if err != nil {
		t.Fatal(err)
	}
	actx := ctx
	for i := range 6 {
		id := fmt.Sprintf("r%d", i%2)
		v := eventstore.Version(i / 2)
		if _, err := store.Append(actx, "release", id, v, eventstore.Meta{Actor: "alice"}, eventstore.Event{Message: wrapperspb.String(fmt.Sprintf("step %d", i))}); err != nil {
			t.Fatal(err)
		}
	}

	out, err := runCLI(t, ctx, env, "audit", "checkpoint")
	if err != nil || !strings.Contains(out, fmt.Sprintf("signed size %d", base+6)) {
		t.Fatalf("floe audit checkpoint: %v\n%s", err, out)
	}
	out, err = runCLI(t, ctx, env, "audit", "verify")
	if err != nil || !strings.Contains(out, "OK") || !strings.Contains(out, fmt.Sprintf("events      %d", base+6)) {
		t.Fatalf("floe audit verify: %v\n%s", err, out)
	}
	// Without audit.admin, no checkpoint.
	if out, err := runCLI(t, ctx, env, "--as", "grace", "audit", "checkpoint"); err == nil || !strings.Contains(out, "PermissionDenied") {
		t.Errorf("checkpoint as support: %v\n%s", err, out)
	}

	bundle := filepath.Join(t.TempDir(), "audit.jsonl")
	if out, err := runCLI(t, ctx, env, "audit", "export", "--out", bundle); err != nil {
		t.Fatalf("floe audit export: %v\n%s", err, out)
	}
	if out, err := runCLI(t, ctx, env, "audit", "verify", "--bundle", bundle); err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("verify bundle: %v\n%s", err, out)
	}

	// Tamper with our event 4 in the bundle (one byte of its body, which a v2
	// bundle carries base64-encoded): verification must fail and name it.
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	var tampered []byte
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		var rec map[string]any
		if json.Unmarshal(line, &rec) == nil && rec["kind"] == "event" && rec["data_b64"] == base64.StdEncoding.EncodeToString([]byte(`"step 3"`)) {
			rec["data_b64"] = base64.StdEncoding.EncodeToString([]byte(`"step X"`))
			if line, err = json.Marshal(rec); err != nil {
				t.Fatal(err)
			}
			line = append(line, '\n')
		}
		tampered = append(tampered, line...)
	}
	if bytes.Equal(tampered, data) {
		t.Fatal("test bug: nothing replaced in the bundle")
	}
	bad := filepath.Join(t.TempDir(), "tampered.jsonl")
	if err := os.WriteFile(bad, tampered, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, ctx, env, "audit", "verify", "--bundle", bad)
	if err == nil || !strings.Contains(out, fmt.Sprintf("first bad event at position %d", base+4)) {
		t.Errorf("verify of a tampered bundle: err=%v\n%s", err, out)
	}

	// A clean stop signs what is left and exits 0.
	if err := d.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("stop: %v\n%s", err, d.stderr)
	}
}
