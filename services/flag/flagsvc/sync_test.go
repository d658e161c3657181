package flagsvc_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/penguinmails/floe/libs/flageval"
	syncv1 "github.com/penguinmails/floe/proto/gen/flagd/sync/v1"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
)

// flagd's sync protocol, as a flagd provider speaks it: no authorization
// header, the environment and the token in the selector; every change is
// pushed as the whole flag-definition document.
func TestFlagdSync(t *testing.T) {
	w := start(t)
	w.createFlags()
	anon := syncv1.NewFlagSyncServiceClient(w.Conn("")) // sends no authorization header
	ctx := ctxT(t)

	stream, err := anon.SyncFlags(ctx, &syncv1.SyncFlagsRequest{ProviderId: "test", Selector: "production;token=" + w.Token("grace")})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	set := parseFlagd(t, first.GetFlagConfiguration())
	if got := set.Keys(); len(got) != 2 {
		t.Fatalf("synced flags %v", got)
	}
	if r := set.Evaluate("banner-text", flageval.Context{}); r.Value != "Hello!" {
		t.Fatalf("banner-text %+v", r)
	}

	if _, err := w.flags("dave").KillFlag(ctx, &flagv1.KillFlagRequest{Environment: "production", Key: "new-welcome", Reason: "INC-10"}); err != nil {
		t.Fatal(err)
	}
	next, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if r := parseFlagd(t, next.GetFlagConfiguration()).Evaluate("new-welcome", flageval.Context{TargetingKey: "u"}); r.Reason != flageval.ReasonDisabled {
		t.Fatalf("after the kill: %+v", r)
	}

	// FetchAllFlags, with the token in the authorization header and the
	// selector in flagd's header.
	hctx := metadata.AppendToOutgoingContext(ctx, "flagd-selector", "production")
	all, err := syncv1.NewFlagSyncServiceClient(w.Conn("grace")).FetchAllFlags(hctx, &syncv1.FetchAllFlagsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if all.GetFlagConfiguration() != next.GetFlagConfiguration() {
		t.Fatalf("FetchAllFlags differs from the last push:\n%s\n%s", all.GetFlagConfiguration(), next.GetFlagConfiguration())
	}

	for _, c := range []struct {
		name     string
		client   syncv1.FlagSyncServiceClient
		selector string
		want     codes.Code
	}{
		{"no token", anon, "production", codes.Unauthenticated},
		{"forged token", anon, "production;token=forged", codes.Unauthenticated},
		{"no environment", anon, "token=" + w.Token("grace"), codes.InvalidArgument},
		{"bad environment", anon, "pro duction;token=" + w.Token("grace"), codes.InvalidArgument},
		{"unknown part", anon, "production;color=red", codes.InvalidArgument},
		{"another environment's reader", anon, "production;token=" + w.Token("sam"), codes.PermissionDenied},
		{"bad header token", syncv1.NewFlagSyncServiceClient(w.ConnWithToken("forged")), "production;token=" + w.Token("grace"), codes.Unauthenticated},
	} {
		_, err := c.client.FetchAllFlags(ctx, &syncv1.FetchAllFlagsRequest{Selector: c.selector})
		if status.Code(err) != c.want {
			t.Errorf("%s: FetchAllFlags %v, want %v", c.name, err, c.want)
		}
		s, err := c.client.SyncFlags(ctx, &syncv1.SyncFlagsRequest{Selector: c.selector})
		if err == nil {
			_, err = s.Recv()
		}
		if status.Code(err) != c.want {
			t.Errorf("%s: SyncFlags %v, want %v", c.name, err, c.want)
		}
	}
	// The token never appears in an error.
	_, err = anon.FetchAllFlags(ctx, &syncv1.FetchAllFlagsRequest{Selector: "production;token=secret-token;x"})
	if status.Code(err) != codes.InvalidArgument || strings.Contains(err.Error(), "secret-token") {
		t.Fatalf("selector error: %v", err)
	}
}

// An empty environment syncs an empty, valid document (flagd providers
// start on it) and its first flag is pushed when it is created.
func TestFlagdSyncEmptyEnvironment(t *testing.T) {
	w := start(t)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	stream, err := syncv1.NewFlagSyncServiceClient(w.Conn("grace")).SyncFlags(ctx, &syncv1.SyncFlagsRequest{Selector: "production"})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if len(parseFlagd(t, first.GetFlagConfiguration()).Keys()) != 0 {
		t.Fatalf("empty environment: %s", first.GetFlagConfiguration())
	}
	if _, err := w.flags("alice").CreateFlag(ctx, &flagv1.CreateFlagRequest{Flag: welcome(), Reason: "launch"}); err != nil {
		t.Fatal(err)
	}
	next, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if keys := parseFlagd(t, next.GetFlagConfiguration()).Keys(); len(keys) != 1 || keys[0] != "new-welcome" {
		t.Fatalf("after create: %v", keys)
	}
}

func parseFlagd(t *testing.T, doc string) *flageval.Set {
	t.Helper()
	if !json.Valid([]byte(doc)) {
		t.Fatalf("not JSON: %q", doc)
	}
	set, err := flageval.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("synced definition does not parse: %v\n%s", err, doc)
	}
	return set
}
