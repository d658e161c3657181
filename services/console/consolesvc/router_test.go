package consolesvc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	systemv1 "github.com/penguinmails/floe/proto/gen/floe/system/v1"
)

func TestRouter(t *testing.T) {
	routes, err := parseRoutes(" floe.gate.v1=127.0.0.1:7411, floe.flag.v1=127.0.0.1:7412,floe.config.v1=127.0.0.1:7412 ")
	if err != nil || len(routes) != 3 {
		t.Fatalf("parseRoutes: %v %v", routes, err)
	}
	def, err := grpc.NewClient("passthrough:///127.0.0.1:7410", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	r, err := newRouter(def, routes, insecure.NewCredentials())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.conn("/floe.gate.v1.GateService/GetGateStatus") == def || r.conn("/floe.release.v1.ReleaseService/GetRelease") != def {
		t.Error("calls are not routed by their package")
	}
	if r.conn("/floe.flag.v1.FlagService/GetFlag") != r.conn("/floe.config.v1.ConfigService/GetConfig") {
		t.Error("two packages on one address do not share its connection")
	}
	for in, want := range map[string]string{
		"floe.gate.v1":                         "PACKAGE=HOST:PORT",
		"floe.gate.v1=nowhere":                 "missing port",
		"a=1.2.3.4:1,a=1.2.3.4:2":              "routed twice",
		"floe/gate=127.0.0.1:1":                "PACKAGE=HOST:PORT",
		"=127.0.0.1:1":                         "PACKAGE=HOST:PORT",
		"floe.gate.v1=127.0.0.1:1, ,x=y:zz":    "", // blanks are skipped; x=y:zz parses
		"floe.gate.v1=127.0.0.1:1|127.0.0.1:2": "",
		"floe.gate.v1=127.0.0.1:1|":            "missing port",
		"floe.gate.v1=127.0.0.1:1|127.0.0.1:1": "named twice",
	} {
		_, err := parseRoutes(in)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("parseRoutes(%q) = %v, want %q", in, err, want)
		}
	}
}

// instance is a gRPC server over TLS whose GetServerInfo answers its name,
// with a health service the test sets.
type instance struct {
	name   string
	addr   string
	health *health.Server
	srv    *grpc.Server
}

type namedSystem struct {
	systemv1.UnimplementedSystemServiceServer
	name string
}

func (n namedSystem) GetServerInfo(context.Context, *systemv1.GetServerInfoRequest) (*systemv1.GetServerInfoResponse, error) {
	return &systemv1.GetServerInfoResponse{Version: n.name}, nil
}

func startInstance(t *testing.T, name string, files testkit.TLSFiles) *instance {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(files.Cert, files.Key)
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{name: name, addr: lis.Addr().String(), health: health.NewServer(),
		srv: grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: []tls.Certificate{cert}})))}
	healthpb.RegisterHealthServer(in.srv, in.health)
	systemv1.RegisterSystemServiceServer(in.srv, namedSystem{name: name})
	go func() { _ = in.srv.Serve(lis) }()
	t.Cleanup(in.srv.Stop)
	return in
}

// TestRouterInstances: a route to several instances of a service spreads
// the calls over them, over TLS verified per instance, and stops sending
// any to an instance that is not SERVING (a Floe process not ready) or
// that is gone.
func TestRouterInstances(t *testing.T) {
	files := testkit.NewTLSFiles(t, "127.0.0.1")
	a, b := startInstance(t, "a", files), startInstance(t, "b", files)
	routes, err := parseRoutes("floe.system.v1=" + a.addr + "|" + b.addr)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(files.CA)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	def, err := grpc.NewClient("passthrough:///127.0.0.1:1", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	r, err := newRouter(def, routes, credentials.NewTLS(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	client := systemv1.NewSystemServiceClient(r)
	answers := func(n int) map[string]int {
		t.Helper()
		out := map[string]int{}
		for range n {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			resp, err := client.GetServerInfo(ctx, &systemv1.GetServerInfoRequest{})
			cancel()
			if err != nil {
				out[err.Error()]++
				continue
			}
			out[resp.GetVersion()]++
		}
		return out
	}
	only := func(name string) func() error {
		return func() error {
			if got := answers(10); got[name] != 10 {
				return fmt.Errorf("10 calls answered %v, want all by %s", got, name)
			}
			return nil
		}
	}
	testkit.EventuallyWithin(t, 20*time.Second, func() error {
		if got := answers(20); got["a"] == 0 || got["b"] == 0 || got["a"]+got["b"] != 20 {
			return fmt.Errorf("20 calls answered %v, want both instances", got)
		}
		return nil
	})
	a.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	testkit.EventuallyWithin(t, 20*time.Second, only("b"))
	a.health.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	b.srv.Stop()
	testkit.EventuallyWithin(t, 20*time.Second, only("a"))
}

// TestConsolePeerTLSNeedsServer: with --peer-tls the console must be told
// the API's address as its certificate names it; the binary refuses to
// start without --console-server and says so.
func TestConsolePeerTLSNeedsServer(t *testing.T) {
	tokens := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := os.WriteFile(tokens, []byte("principals: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--console-addr", "127.0.0.1:0",
		"--data-dir", t.TempDir(), "--tokens-file", tokens, "--peer-tls"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := service.Run(ctx, Service, "test", args)
	if err == nil || !strings.Contains(err.Error(), "console-server") || !strings.Contains(err.Error(), "--peer-tls") {
		t.Fatalf("the console with --peer-tls and no --console-server: %v; want a refusal naming both", err)
	}
	t.Logf("refused: %v", err)
}
