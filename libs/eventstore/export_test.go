package eventstore

import (
	"context"

	"github.com/nats-io/nats.go/jetstream"
)

// SetLaggingReplica makes v's direct reads answer as a replica that lags
// the leader by lag messages: it has none of the log's last lag messages.
func SetLaggingReplica(v *Verifier, lag uint64) {
	v.direct = func(ctx context.Context, js jetstream.JetStream, stream, filter string, seq, upTo uint64, fn func(*RecordedEvent) (bool, error)) error {
		st, err := js.Stream(ctx, stream)
		if err != nil {
			return err
		}
		last := st.CachedInfo().State.LastSeq
		if last <= lag {
			return nil
		}
		if upTo == 0 || upTo > last-lag {
			upTo = last - lag
		}
		if seq > upTo {
			return nil
		}
		return ReadDirect(ctx, js, stream, filter, seq, upTo, fn)
	}
}
