package natsx_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/testkit"
)

// Three nodes placed from the production node configuration form a
// JetStream cluster that replicates a stream 3 times and keeps its users'
// permissions: a service may append but not delete the log.
func TestNodeOptionsFormACluster(t *testing.T) {
	for _, v := range []string{"RELEASE", "DEPLOYER", "MONITOR", "AUDIT", "GATE", "FLAG", "NOTIFIER", "CHANGE", "READER", "ADMIN"} {
		t.Setenv("FLOE_"+v+"_NATS_PASSWORD", "pw-"+strings.ToLower(v))
	}
	t.Setenv("NATS_SYS_PASSWORD", "pw-sys")
	conf := filepath.Join("..", "..", "deploy", "nats", "nats-server.conf")
	var clients, routes []string
	for range 3 {
		clients, routes = append(clients, freeAddr(t)), append(routes, "nats-route://"+freeAddr(t))
	}
	dir := t.TempDir()
	for i := range 3 {
		opts, err := natsx.NodeOptions(conf, natsx.NodeSpec{Name: fmt.Sprintf("n%d", i+1), Listen: clients[i],
			ClusterListen: strings.TrimPrefix(routes[i], "nats-route://"), Routes: routes, StoreDir: filepath.Join(dir, fmt.Sprint(i))})
		if err != nil {
			t.Fatal(err)
		}
		if !opts.SyncAlways || opts.TLSConfig != nil || opts.Cluster.Name != "floe" {
			t.Errorf("node %d: sync always %v, TLS %v, cluster %q", i, opts.SyncAlways, opts.TLSConfig != nil, opts.Cluster.Name)
		}
		srv, err := server.NewServer(opts)
		if err != nil {
			t.Fatal(err)
		}
		go srv.Start()
		t.Cleanup(srv.Shutdown)
		if !srv.ReadyForConnections(10 * time.Second) {
			t.Fatalf("node %d did not start", i)
		}
	}
	url := func(user, pw string) string {
		out := make([]string, len(clients))
		for i, c := range clients {
			out[i] = "nats://" + user + ":" + pw + "@" + c
		}
		return strings.Join(out, ",")
	}
	connect := func(user, pw string) jetstream.JetStream {
		nc, err := nats.Connect(url(user, pw), nats.ErrorHandler(func(*nats.Conn, *nats.Subscription, error) {}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		return js
	}
	admin := connect("floe-admin", "pw-admin")
	ctx := context.Background()
	testkit.EventuallyWithin(t, 30*time.Second, func() error {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_, err := admin.CreateStream(cctx, jetstream.StreamConfig{Name: "FLOE_EVENTS", Subjects: []string{"floe.evt.>"}, Replicas: 3})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil
		}
		return err
	})
	info, err := admin.Stream(ctx, "FLOE_EVENTS")
	if err != nil {
		t.Fatal(err)
	}
	if si, _ := info.Info(ctx); si.Cluster == nil || len(si.Cluster.Replicas) != 2 {
		t.Errorf("stream cluster info %+v, want a leader and 2 replicas", si.Cluster)
	}
	release := connect("floe-release", "pw-release")
	if _, err := release.Publish(ctx, "floe.evt.release.r1.ReleaseCreated", []byte("{}")); err != nil {
		t.Errorf("the release service's user cannot append its own events: %v", err)
	}
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := release.DeleteStream(dctx, "FLOE_EVENTS"); err == nil {
		t.Error("the release service's user deleted the event log")
	}
	if nc, err := nats.Connect(url("floe-release", "wrong")); err == nil {
		nc.Close()
		t.Error("a wrong password connected")
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
