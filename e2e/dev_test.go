package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/penguinmails/floe/libs/testkit"
)

// TestDevServer is the foundation's acceptance test: `floe dev` starts on an
// empty data directory, serves health and reflection without a token, the
// system service with one, Prometheus metrics on the admin port, and NATS;
// it exits 0 on SIGTERM and restarts on the same data with the same tokens
// and the same JetStream contents.
func TestDevServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dataDir := t.TempDir()

	d := startDev(t, dataDir)
	if !strings.Contains(d.stdout.String(), "First start") {
		t.Errorf("first start did not print the generated tokens:\n%s", d.stdout)
	}
	conn, err := grpc.NewClient(d.creds.Server, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// Reflection lists the services, without a token (what `grpcurl -plaintext addr list` does).
	services := listServices(ctx, t, conn)
	for _, want := range []string{"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "floe.system.v1.SystemService",
		"floe.change.v1.ChangeService", "floe.change.v1.WindowService", "floe.change.v1.ComplianceService"} {
		if !slices.Contains(services, want) {
			t.Errorf("reflection does not list %s; got %v", want, services)
		}
	}

	// Health reaches SERVING once readiness checks pass.
	health := healthpb.NewHealthClient(conn)
	testkit.Eventually(t, func() error {
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil {
			return fmt.Errorf("health Check: %w", err)
		}
		if got := resp.GetStatus(); got != healthpb.HealthCheckResponse_SERVING {
			return fmt.Errorf("health is %v, want SERVING", got)
		}
		return nil
	})

	// The CLI reads the credentials file and authenticates.
	env := []string{"FLOE_CREDENTIALS=" + dataDir + "/dev-credentials.yaml", "FLOE_TOKEN=", "FLOE_SERVER="}
	out, err := runCLI(t, ctx, env, "--as", "alice", "whoami", "-o", "json")
	if err != nil {
		t.Fatalf("floe whoami: %v\n%s", err, out)
	}
	var who struct {
		Principal struct {
			ID    string `json:"id"`
			Roles []struct {
				Role string `json:"role"`
			} `json:"roles"`
		} `json:"principal"`
	}
	if err := json.Unmarshal([]byte(out), &who); err != nil {
		t.Fatalf("whoami json: %v\n%s", err, out)
	}
	if who.Principal.ID != "alice" || len(who.Principal.Roles) != 1 || who.Principal.Roles[0].Role != "developer" {
		t.Errorf("whoami = %+v, want alice/developer", who.Principal)
	}
	if out, err := runCLI(t, ctx, append(env, "FLOE_TOKEN=floe_not-a-real-token"), "whoami"); err == nil || !strings.Contains(out, "Unauthenticated") {
		t.Errorf("whoami with a bad token: err=%v, output %q; want an Unauthenticated error", err, out)
	}

	// Prometheus metrics on the admin port, including the RPCs just made.
	metrics := httpGet(ctx, t, "http://"+d.creds.Admin+"/metrics")
	for _, want := range []string{"go_goroutines", `grpc_server_handled_total{grpc_code="OK",grpc_method="WhoAmI"`, "grpc_server_handling_seconds_bucket"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if got := httpGet(ctx, t, "http://"+d.creds.Admin+"/readyz"); !strings.Contains(got, "ready") {
		t.Errorf("/readyz = %q", got)
	}

	// The event log is readable by event subscribers (with the reader
	// identity floe dev hands out); what it holds must survive a restart.
	_, js := d.mustNATS(t, "reader")
	log, err := js.Stream(ctx, "FLOE_EVENTS")
	if err != nil {
		t.Fatalf("the event log, as the reader: %v", err)
	}
	lastBefore := log.CachedInfo().State.LastSeq
	if lastBefore == 0 {
		t.Fatal("the event log is empty: the test needs an event to find after the restart")
	}
	before, err := log.GetMsg(ctx, lastBefore)
	if err != nil {
		t.Fatal(err)
	}

	if err := d.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("floe dev exit after SIGTERM: %v (want status 0)\nstderr:\n%s", err, d.stderr)
	}
	firstTokens := d.creds.token(t, "admin")

	// Restart on the same data: same tokens, no new "first start", stream data kept.
	d2 := startDev(t, dataDir)
	if strings.Contains(d2.stdout.String(), "First start") {
		t.Errorf("restart regenerated tokens:\n%s", d2.stdout)
	}
	if got := d2.creds.token(t, "admin"); got != firstTokens {
		t.Errorf("admin token changed across restart")
	}
	_, js2 := d2.mustNATS(t, "reader")
	log2, err := js2.Stream(ctx, "FLOE_EVENTS")
	if err != nil {
		t.Fatalf("the event log after restart: %v", err)
	}
	if after, err := log2.GetMsg(ctx, lastBefore); err != nil || after.Subject != before.Subject || !bytes.Equal(after.Data, before.Data) {
		t.Errorf("event %d after restart: %v, %v; want %s as before", lastBefore, after, err, before.Subject)
	}
	if out, err := runCLI(t, ctx, []string{"FLOE_CREDENTIALS=" + dataDir + "/dev-credentials.yaml"}, "info"); err != nil || !strings.Contains(out, "floe.system.v1.SystemService") {
		t.Errorf("floe info after restart: %v\n%s", err, out)
	}
	if err := d2.stop(t, syscall.SIGINT); err != nil {
		t.Fatalf("floe dev exit after SIGINT: %v\nstderr:\n%s", err, d2.stderr)
	}
}

func listServices(ctx context.Context, t *testing.T, conn *grpc.ClientConn) []string {
	t.Helper()
	stream, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatalf("reflection: %v", err)
	}
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{}}); err != nil {
		t.Fatal(err)
	}
	resp, err := stream.Recv()
	if err != nil {
		t.Fatalf("reflection list: %v", err)
	}
	_ = stream.CloseSend()
	var names []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	return names
}

func httpGet(ctx context.Context, t *testing.T, url string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
