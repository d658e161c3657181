package runtime_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/libs/testkit"
	systemv1 "github.com/penguinmails/floe/proto/gen/floe/system/v1"
)

// TestPeerTLS: a process that calls another over --peer-tls-ca reaches a
// service serving TLS (--tls-cert) and verifies its certificate; without
// the CA (the system's roots), or in plaintext, the call fails.
func TestPeerTLS(t *testing.T) {
	t.Parallel()
	files := testkit.NewTLSFiles(t, "127.0.0.1", "localhost")
	cfg := testConfigBase(t)
	cfg.TLSCert, cfg.TLSKey = files.Cert, files.Key
	srv, err := runtime.New(context.Background(), runtime.Options{Service: "server", Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	call := func(edit func(*runtime.Base)) error {
		t.Helper()
		b := testConfigBase(t)
		edit(&b)
		rt, err := runtime.New(context.Background(), runtime.Options{Service: "client", Config: b})
		if err != nil {
			t.Fatal(err)
		}
		conn, err := grpc.NewClient(srv.GRPCAddr(), grpc.WithTransportCredentials(rt.PeerCredentials()),
			grpc.WithPerRPCCredentials(auth.BearerCredentials{Token: samToken, AllowInsecure: !rt.PeerTLS()}))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, err = systemv1.NewSystemServiceClient(conn).GetServerInfo(testCtx(t), &systemv1.GetServerInfoRequest{})
		return err
	}
	if err := call(func(b *runtime.Base) { b.PeerTLSCA = files.CA }); err != nil {
		t.Errorf("with --peer-tls-ca: %v", err)
	}
	if err := call(func(b *runtime.Base) { b.PeerTLS = true }); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("with --peer-tls and the system's roots: %v; want a certificate error", err)
	}
	if err := call(func(*runtime.Base) {}); err == nil {
		t.Error("a plaintext call reached a TLS server")
	}

	notPEM := filepath.Join(t.TempDir(), "ca.crt")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{notPEM: "no PEM certificate", filepath.Join(t.TempDir(), "absent.crt"): "no such file"} {
		b := testConfigBase(t)
		b.PeerTLSCA = path
		if _, err := runtime.New(context.Background(), runtime.Options{Service: "client", Config: b}); err == nil ||
			!strings.Contains(err.Error(), "--peer-tls-ca") || !strings.Contains(err.Error(), want) {
			t.Errorf("--peer-tls-ca %s: %v; want an error naming the flag and %q", path, err, want)
		}
	}
}
