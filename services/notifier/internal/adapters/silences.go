package adapters

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/projection"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/internal/app"
	"github.com/penguinmails/floe/services/notifier/internal/domain"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// Silences is the view of the silences created through the API.
type Silences struct {
	proj *projection.Projection[*domain.Silence]
	mu   sync.Mutex
	all  map[string]*notifyv1.Silence
}

// NewSilences builds the view; Projection runs it.
func NewSilences(ctx context.Context, js jetstream.JetStream, opts projection.Options) (*Silences, error) {
	v := &Silences{all: map[string]*notifyv1.Silence{}}
	spec := projection.Aggregates("notify_silences", app.SilenceKind)
	spec.OnChange = func(id string, s *domain.Silence, deleted bool) {
		v.mu.Lock()
		defer v.mu.Unlock()
		if deleted || s.S == nil {
			delete(v.all, id)
			return
		}
		v.all[id] = proto.CloneOf(s.S)
	}
	spec.OnReset = func() {
		v.mu.Lock()
		defer v.mu.Unlock()
		clear(v.all)
	}
	p, err := projection.New(ctx, js, spec, opts)
	if err != nil {
		return nil, err
	}
	v.proj = p
	return v, nil
}

// Projection is the view's projection.
func (v *Silences) Projection() *projection.Projection[*domain.Silence] { return v.proj }

// Routing are the silences routing applies (not yet ended).
func (v *Silences) Routing(now time.Time) []routing.Silence {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []routing.Silence
	for _, s := range v.all {
		if domain.State(s, now) == "expired" {
			continue
		}
		if rs, ok := domain.RoutingSilence(s); ok {
			out = append(out, rs)
		}
	}
	slices.SortFunc(out, func(a, b routing.Silence) int { return a.EndsAt.Compare(b.EndsAt) })
	return out
}

// List is every silence (all: the expired ones too), ending soonest first.
func (v *Silences) List(now time.Time, all bool) []*notifyv1.Silence {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []*notifyv1.Silence
	for _, s := range v.all {
		c := proto.CloneOf(s)
		c.State = domain.State(c, now)
		if c.State == "expired" && !all {
			continue
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b *notifyv1.Silence) int { return a.GetEndsAt().AsTime().Compare(b.GetEndsAt().AsTime()) })
	return out
}
