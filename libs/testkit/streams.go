package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Streams is every message of every JetStream stream on the server at url
// (the event log, key-value buckets, object stores), headers and data, by
// stream name: what a leak test searches. The connection needs the
// permission to read every stream (an embedded test server's, or a
// service identity's; the read-only subscriber identity sees the log only).
func Streams(t testing.TB, url string, opts ...nats.Option) map[string][]byte {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := map[string][]byte{}
	names := js.StreamNames(ctx)
	for name := range names.Name() {
		st, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			t.Fatalf("stream %s: %v", name, err)
		}
		var buf []byte
		for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
			m, err := st.GetMsg(ctx, seq)
			if err != nil {
				continue // deleted or purged
			}
			for k, vs := range m.Header {
				buf = append(buf, k...)
				buf = append(buf, ':')
				for _, v := range vs {
					buf = append(buf, v...)
				}
				buf = append(buf, '\n')
			}
			buf = append(buf, m.Data...)
			buf = append(buf, '\n')
		}
		out[name] = buf
	}
	if err := names.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
