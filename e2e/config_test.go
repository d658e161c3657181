package e2e

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/penguinmails/floe/libs/testkit"
)

// TestConfigurationReachesTheProcess runs `floe dev`: a secret put with the
// CLI (from a file, never an argument), a configuration that refers to it,
// a release promoted to development — and the demo app's process holds the
// configuration and the secret (checked by digest through the app), while
// the value appears in no CLI output, no server log and no message of any
// NATS stream.
func TestConfigurationReachesTheProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	d := startDev(t, dataDir)
	env := []string{"FLOE_CREDENTIALS=" + filepath.Join(dataDir, "dev-credentials.yaml"), "FLOE_TOKEN=", "FLOE_SERVER=", "FLOE_NATS_URL="}
	var outputs strings.Builder
	must := func(args ...string) string {
		t.Helper()
		out, err := runCLI(t, ctx, env, args...)
		outputs.WriteString(out)
		if err != nil {
			t.Fatalf("floe %s: %v\n%s\nserver stderr (tail):\n%s", strings.Join(args, " "), err, out, tail(d.stderr.String(), 4000))
		}
		return out
	}
	write := func(name, content string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}

	raw := make([]byte, 18)
	if _, err := rand.Read(raw); err != nil {
		t.Fatal(err)
	}
	secret := "e2e-canary-" + hex.EncodeToString(raw)
	valueFile := write("value", secret)
	must("--as", "dave", "secrets", "put", "development", "db/password", "--from-file", valueFile, "--reason", "first password")
	if err := os.Remove(valueFile); err != nil {
		t.Fatal(err)
	}
	doc := write("development.json", `{"database": {"host": "db.dev.internal", "port": 5432, "password": "secret://db/password",
  "connectionPool": {"min": 1, "max": 7}}}`)
	must("--as", "alice", "config", "set", "development", "--file", doc, "--reason", "first development configuration")

	id := createRelease(t, must, "1.0.0", "major")
	must("--as", "bob", "release", "promote", id, "--env", "development", "--strategy", "big-bang")
	cli := func(args ...string) (string, error) {
		out, err := runCLI(t, ctx, env, args...)
		outputs.WriteString(out)
		return out, err
	}
	waitEnvStatus(t, cli, id, "development", "RELEASE_STATUS_DEPLOYED")

	// The deployment names the configuration it delivered.
	if out := must("deploy", "get", id+"-development-1"); !strings.Contains(out, "configuration version 1 of development") {
		t.Errorf("floe deploy get does not name the configuration:\n%s", out)
	}
	// The process has both, as environment variables.
	proxy := "http://" + proxyAddr(t, dataDir, "development")
	digest := func(name string) (bool, string) {
		t.Helper()
		var got struct {
			Set    bool   `json:"set"`
			SHA256 string `json:"sha256"`
		}
		testkit.EventuallyWithin(t, 30*time.Second, func() error {
			resp, err := http.Get(proxy + "/env-digest/" + name)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("GET /env-digest/%s: %d %s", name, resp.StatusCode, b)
			}
			return json.Unmarshal(b, &got)
		})
		return got.Set, got.SHA256
	}
	want := sha256.Sum256([]byte(secret))
	if set, sum := digest("DATABASE_PASSWORD"); !set || sum != hex.EncodeToString(want[:]) {
		t.Errorf("DATABASE_PASSWORD in the process: set %v, digest %s; want the secret's", set, sum)
	}
	seven := sha256.Sum256([]byte("7"))
	if set, sum := digest("DATABASE_CONNECTION_POOL_MAX"); !set || sum != hex.EncodeToString(seven[:]) {
		t.Errorf("DATABASE_CONNECTION_POOL_MAX in the process: set %v, digest %s; want 7's", set, sum)
	}

	// A configuration change rolled out alone: the same release, the new pool size.
	patch := write("patch.json", `{"database": {"connectionPool": {"max": 9}}}`)
	must("--as", "alice", "config", "patch", "development", "--file", patch, "--reason", "more connections")
	out := must("--as", "dave", "deploy", "config", "development", "--strategy", "big-bang", "--reason", "pool size 9")
	if !strings.Contains(out, "config-development-v2-1") || !strings.Contains(out, "1.0.0+config.2") {
		t.Fatalf("floe deploy config:\n%s", out)
	}
	testkit.EventuallyWithin(t, time.Minute, func() error {
		if out := must("deploy", "get", "config-development-v2-1"); !strings.Contains(out, "status SUCCEEDED") {
			return fmt.Errorf("the configuration rollout has not succeeded:\n%s", out)
		}
		return nil
	})
	nine := sha256.Sum256([]byte("9"))
	if set, sum := digest("DATABASE_CONNECTION_POOL_MAX"); !set || sum != hex.EncodeToString(nine[:]) {
		t.Errorf("DATABASE_CONNECTION_POOL_MAX after the configuration rollout: set %v, digest %s; want 9's", set, sum)
	}
	if set, sum := digest("DATABASE_PASSWORD"); !set || sum != hex.EncodeToString(want[:]) {
		t.Errorf("DATABASE_PASSWORD after the configuration rollout: set %v, digest %s; want the secret's", set, sum)
	}
	waitEnvStatus(t, cli, id, "development", "RELEASE_STATUS_DEPLOYED") // the release did not move

	// The value is nowhere else.
	where := map[string]string{"CLI output": outputs.String(), "server stdout": d.stdout.String(), "server stderr": d.stderr.String()}
	// As a service identity: it may read every stream, key-value buckets included.
	seed, err := nats.NkeyOptionFromSeed(filepath.Join(dataDir, "nats-identities", "flag.nk"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range testkit.Streams(t, d.creds.NATS, seed) {
		where["stream "+name] = string(b)
	}
	if len(where) < 4 || !strings.Contains(where["stream FLOE_EVENTS"], "SecretVersionAdded") {
		t.Fatalf("the search read no secret event (streams: %d): it cannot have looked in the right place", len(where)-3)
	}
	enc := []string{secret, hex.EncodeToString([]byte(secret))}
	for place, text := range where {
		for _, e := range enc {
			if strings.Contains(text, e) {
				t.Errorf("the secret's value is in the %s", place)
			}
		}
	}
}
