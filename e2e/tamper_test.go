package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/testkit"
)

// TestForgedApprovalIsRefused is the attack the issue reports, against a
// running floe dev: someone holding credentials that may publish on the
// release service's subjects (a compromised operator) publishes an
// ApprovalGranted "by carol" for staging straight onto the stream, with the
// right previous hash and version. For each way of forging it — a made-up
// hash, a correct hash without a signature, a signature by another service's
// key — nothing uses it: the release reads as tampered, the promotion it
// would have allowed is refused and nothing deploys, the detection is
// recorded, audit verify names the position, the rest of Floe works, and
// after an administrator's acknowledgement the release works again without
// the forged approval.
func TestForgedApprovalIsRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	d := startDev(t, dataDir)
	env := []string{"FLOE_CREDENTIALS=" + filepath.Join(dataDir, "dev-credentials.yaml"), "FLOE_TOKEN=", "FLOE_SERVER=", "FLOE_NATS_URL="}
	cli := func(args ...string) (string, error) { return runCLI(t, ctx, env, args...) }
	_, js := d.mustNATS(t, "release") // the compromised credentials: may publish floe.evt.release.>
	log, err := js.Stream(ctx, "FLOE_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	deployerKey, err := eventstore.LoadKey(filepath.Join(dataDir, "keys", "deployer.key"))
	if err != nil {
		t.Fatal(err)
	}
	deployer := eventstore.NewSigner("floe/deployer", deployerKey)

	for i, forge := range []struct {
		name   string
		sign   func(h nats.Header)
		reason string
	}{
		{"a made-up hash", func(h nats.Header) {
			h.Set(eventstore.HdrHash, strings.Repeat("ab", 32))
		}, "does not match its floe-hash"},
		{"a correct hash, unsigned", func(nats.Header) {}, "not signed"},
		{"another service's key", func(h nats.Header) {
			h.Set(eventstore.HdrKeyID, deployer.KeyID())
			h.Set(eventstore.HdrSignature, deployer.Sign(h.Get(eventstore.HdrHash)))
		}, "belongs to floe/deployer"},
	} {
		t.Run(forge.name, func(t *testing.T) {
			product := fmt.Sprintf("forged%d", i)
			out, err := cli("--as", "alice", "release", "create", "--product", product, "--version", "1.0.0", "--type", "major",
				"--title", "needs QA", "--change", "feature:x", "-o", "json")
			if err != nil {
				t.Fatalf("create: %v\n%s", err, out)
			}
			var created struct {
				Release struct{ ID string } `json:"release"`
			}
			if err := json.Unmarshal([]byte(out), &created); err != nil || created.Release.ID == "" {
				t.Fatalf("create output: %v\n%s", err, out)
			}
			id := created.Release.ID
			if out, err := cli("--as", "bob", "release", "promote", id, "--env", "development"); err != nil {
				t.Fatalf("promote to development: %v\n%s", err, out)
			}
			testkit.Eventually(t, func() error {
				out, err := cli("release", "get", id)
				if err != nil || !regexp.MustCompile(`development\s+deployed`).MatchString(out) {
					return fmt.Errorf("development not deployed yet: %v\n%s", err, out)
				}
				return nil
			})
			// Staging needs QA's approval: without it the promotion is refused.
			if out, err := cli("--as", "bob", "release", "promote", id, "--env", "staging"); err == nil || !strings.Contains(out, "APPROVALS_MISSING") {
				t.Fatalf("promote to staging without approval: %v\n%s", err, out)
			}

			// The forgery: the release's next event, "approved by carol".
			subject := "floe.evt.release." + id + ".ApprovalGranted"
			last, err := log.GetLastMsgForSubject(ctx, "floe.evt.release."+id+".>")
			if err != nil {
				t.Fatal(err)
			}
			version, _ := strconv.Atoi(last.Header.Get(eventstore.HdrVersion))
			body := []byte(`{"releaseId":"` + id + `","environment":"staging","approver":"carol","approverRoles":["qa"]}`)
			h := nats.Header{}
			for k, v := range map[string]string{
				eventstore.HdrSpecVersion: "1.0", eventstore.HdrID: "forged-" + strconv.Itoa(i), eventstore.HdrSource: "floe/release",
				eventstore.HdrType: "floe.release.v1.ApprovalGranted", eventstore.HdrSubject: id,
				eventstore.HdrTime: time.Now().UTC().Format(time.RFC3339Nano), eventstore.HdrContentType: "application/json",
				eventstore.HdrActor: "carol", eventstore.HdrVersion: strconv.Itoa(version + 1), eventstore.HdrPrevHash: last.Header.Get(eventstore.HdrHash),
			} {
				h.Set(k, v)
			}
			h.Set(eventstore.HdrHash, eventstore.ComputeHash(subject, h, body))
			forge.sign(h)
			ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: subject, Header: h, Data: body})
			if err != nil {
				t.Fatalf("the forger could not publish (the test needs it to get onto the stream): %v", err)
			}
			bad := ack.Sequence
			pos := strconv.FormatUint(bad, 10)

			// Reads say so; the promotion it was meant for is refused; nothing deploys.
			testkit.Eventually(t, func() error {
				out, err := cli("release", "get", id)
				if err == nil || !strings.Contains(out, "AGGREGATE_TAMPERED") || !strings.Contains(out, "position "+pos) {
					return fmt.Errorf("release get after the forgery: %v\n%s", err, out)
				}
				return nil
			})
			if out, err := cli("--as", "bob", "release", "promote", id, "--env", "staging"); err == nil || !strings.Contains(out, "AGGREGATE_TAMPERED") || !strings.Contains(out, forge.reason) {
				t.Fatalf("promote to staging after the forgery: %v\n%s", err, out)
			}
			if out, _ := cli("deploy", "list", "-o", "json"); strings.Contains(out, id+"-staging") {
				t.Fatalf("a staging deployment exists:\n%s", out)
			}
			// Recorded once, and named by the audit.
			testkit.Eventually(t, func() error {
				out, err := cli("integrity", "list")
				if err != nil || !regexp.MustCompile(`(?m)^`+pos+`\s+`+regexp.QuoteMeta(subject)+`.*OPEN`).MatchString(out) {
					return fmt.Errorf("integrity list: %v\n%s", err, out)
				}
				return nil
			})
			out, err = cli("audit", "verify")
			if err == nil || !strings.Contains(out, "position "+pos+" ("+subject+")") {
				t.Fatalf("audit verify: %v\n%s", err, out)
			}
			// The rest of Floe works.
			if out, err := cli("--as", "alice", "release", "create", "--product", product+"b", "--version", "1.0.0", "--type", "major",
				"--title", "unaffected", "--change", "feature:y"); err != nil {
				t.Fatalf("another release: %v\n%s", err, out)
			}
			// Only security or an admin may acknowledge, with a reason.
			if out, err := cli("--as", "bob", "integrity", "ack", pos, "--reason", "looks fine"); err == nil || !strings.Contains(out, "PermissionDenied") {
				t.Fatalf("ack by the release manager: %v\n%s", err, out)
			}
			if out, err := cli("--as", "erin", "integrity", "ack", pos, "--reason", "INC-7: forged approval; NATS account revoked"); err != nil {
				t.Fatalf("ack: %v\n%s", err, out)
			}
			// The release works again, without the forged approval.
			testkit.Eventually(t, func() error {
				out, err := cli("release", "get", id)
				if err != nil || !regexp.MustCompile(`staging\s+planned\s+0/1`).MatchString(out) {
					return fmt.Errorf("release get after the acknowledgement: %v\n%s", err, out)
				}
				return nil
			})
			if out, err := cli("--as", "bob", "release", "promote", id, "--env", "staging"); err == nil || !strings.Contains(out, "APPROVALS_MISSING") {
				t.Fatalf("promote to staging after the acknowledgement: %v\n%s", err, out)
			}
			if out, err := cli("--as", "carol", "release", "approve", id, "--env", "staging"); err != nil {
				t.Fatalf("a real approval: %v\n%s", err, out)
			}
			out, err = cli("audit", "verify")
			if err != nil || !strings.Contains(out, "acknowledged position "+pos) {
				t.Fatalf("audit verify after the acknowledgement: %v\n%s", err, out)
			}
		})
	}
}
