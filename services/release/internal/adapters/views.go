// Package adapters connects the release service to NATS: the list read model
// in a KV bucket and the subscriptions that keep it and the releases current.
package adapters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/penguinmails/floe/libs/eventstore"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/app"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

// ViewsBucket holds one JSON view per release for ListReleases.
const ViewsBucket = "release_views"

// Views is the list read model: each release's API form, keyed by id,
// updated by a durable subscription to release events. Each view records the
// log position of the last event it reflects, so redelivery is harmless.
type Views struct {
	kv   jetstream.KeyValue
	svc  *app.Service
	proj *eventstore.Projection[json.RawMessage]
}

// OpenViews creates or opens the bucket.
func OpenViews(ctx context.Context, js jetstream.JetStream, svc *app.Service) (*Views, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: ViewsBucket, Description: "Release service: release list read model (rebuildable from the log)",
		History: 1, Storage: jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("views bucket: %w", err)
	}
	v := &Views{kv: kv, svc: svc}
	v.proj = &eventstore.Projection[json.RawMessage]{
		KV:  kv,
		Key: func(e *eventstore.RecordedEvent) string { return e.AggregateID },
		// The view is the release as the log says now (which may already
		// include events after e; the next deliveries then change nothing).
		Apply: func(_ json.RawMessage, e *eventstore.RecordedEvent) (json.RawMessage, error) {
			r, _, err := svc.LoadRelease(context.Background(), e.AggregateID)
			if err != nil {
				return nil, err
			}
			return protojson.Marshal(domain.ToProto(r, svc.Environments(), svc.Now()))
		},
	}
	return v, nil
}

// Run keeps the views current until ctx ends.
func (v *Views) Run(ctx context.Context, js jetstream.JetStream, stream string, onErr func(error)) error {
	return eventstore.Subscribe(ctx, js, stream, eventstore.Subscription{
		Name: "release-views", Filters: []string{eventstore.SubjectPrefix + app.AggRelease + ".>"},
		Handler: v.proj.Handle,
		OnError: func(e *eventstore.RecordedEvent, attempt int, err error) {
			if onErr != nil {
				onErr(fmt.Errorf("release view for event %d (attempt %d): %w", e.Seq, attempt, err))
			}
		},
	})
}

// All returns every release view.
func (v *Views) All(ctx context.Context) ([]*releasev1.Release, error) {
	lister, err := v.kv.ListKeys(ctx)
	if err != nil {
		return nil, err
	}
	var out []*releasev1.Release
	for key := range lister.Keys() {
		view, err := eventstore.GetView[json.RawMessage](ctx, v.kv, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var r releasev1.Release
		if err := protojson.Unmarshal(view.Data, &r); err != nil {
			return nil, fmt.Errorf("view %s: %w", key, err)
		}
		out = append(out, &r)
	}
	return out, nil
}

// DeploymentReactor applies deployer events to releases.
func DeploymentReactor(ctx context.Context, js jetstream.JetStream, stream string, svc *app.Service, onErr func(error)) error {
	return eventstore.Subscribe(ctx, js, stream, eventstore.Subscription{
		Name: "release-deployments", Filters: []string{eventstore.SubjectPrefix + "deployment.>"},
		Handler:    svc.OnDeploymentEvent,
		MaxBackoff: 10 * time.Second,
		OnError: func(e *eventstore.RecordedEvent, attempt int, err error) {
			if onErr != nil {
				onErr(fmt.Errorf("deployment event %d (attempt %d): %w", e.Seq, attempt, err))
			}
		},
	})
}
