package devenv

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/penguinmails/floe/libs/runtime"
)

// TestAddressInUse: floe dev refuses at once, naming each address another
// process holds and the flag that moves it (a second `make run` used to
// wait 30 s for an embedded NATS that could not listen).
func TestAddressInUse(t *testing.T) {
	held := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		return l.Addr().String()
	}
	natsAddr, grpcAddr := held(), held()
	var cfg Config
	cfg.Base = runtime.Base{GRPCAddr: grpcAddr, AdminAddr: "127.0.0.1:0"}
	cfg.NATS.Listen, cfg.NATS.DataDir = natsAddr, t.TempDir()
	cfg.Deployer.File = filepath.Join(t.TempDir(), "deployer.yaml")
	if err := os.WriteFile(cfg.Deployer.File, []byte(`local: {proxies: {development: "127.0.0.1:0", staging: "127.0.0.1:0", production: "127.0.0.1:0"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := Run(t.Context(), Options{Config: cfg})
	if err == nil {
		t.Fatal("floe dev started on addresses in use")
	}
	for _, want := range []string{natsAddr + " (the embedded NATS; --nats-listen)", grpcAddr + " (gRPC; --grpc-addr)", "another floe dev"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "admin HTTP") {
		t.Errorf("error %q names a port-0 address", err)
	}
	t.Logf("refused after %s: %v", time.Since(start).Round(time.Millisecond), err)
}
