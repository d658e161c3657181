// Package app runs the release service's commands and queries: load the
// aggregate from the event log, decide with the domain, append — retrying
// on concurrency conflicts — and read the views.
package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/oklog/ulid/v2"
	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

// Aggregate names in the log.
const (
	AggRelease = "release"
	AggProduct = "product"
)

// maxAttempts bounds the reload-and-retry loop of a command that keeps
// losing optimistic-concurrency races.
const maxAttempts = 25

// Service handles release commands and queries.
type Service struct {
	store    eventstore.Store
	products *eventstore.Repository[*domain.Product]
	envs     *domain.Environments
	now      func() time.Time
	gates    domain.GateChecker
}

// New returns a Service; store and envs are required. snaps (optional)
// holds product snapshots.
func New(store eventstore.Store, snaps *eventstore.Snapshots, envs *domain.Environments, now func() time.Time, gates domain.GateChecker) (*Service, error) {
	if store == nil || envs == nil {
		return nil, errors.New("release app: store and environments are required")
	}
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, products: productRepository(store, snaps), envs: envs, now: now, gates: gates}, nil
}

// Environments returns the environment definitions.
func (s *Service) Environments() *domain.Environments { return s.envs }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// RequestKey turns a client's request id into the key that marks the
// command's events: the same principal retrying the same request id gets the
// same key. Without a request id every call is new.
func RequestKey(principal, requestID string) string {
	if requestID == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(principal + "\x00" + requestID))
	return "rq-" + hex.EncodeToString(sum[:12])
}

// eventsWithIDs gives events ids "<key>.<n>" (or random ids without a key).
func eventsWithIDs(key string, msgs []proto.Message) []eventstore.Event {
	out := make([]eventstore.Event, len(msgs))
	for i, m := range msgs {
		out[i] = eventstore.Event{Message: m}
		if key != "" {
			out[i].ID = key + "." + strconv.Itoa(i)
		}
	}
	return out
}

// LoadRelease rebuilds a release from its events (an unknown id gives a
// release that does not Exist).
func (s *Service) LoadRelease(ctx context.Context, id string) (*domain.Release, []*eventstore.RecordedEvent, error) {
	if !eventstore.ValidID(id) {
		return nil, nil, errs.Invalid("release_id", "%q is not a release id", id)
	}
	st, err := s.store.Load(ctx, AggRelease, id, nil)
	if err != nil {
		return nil, nil, err
	}
	r := domain.NewRelease()
	for _, e := range st.Events {
		m, err := e.Decode()
		if err != nil {
			return nil, nil, err
		}
		domain.Apply(r, m, domain.Meta{ID: e.ID, Actor: e.Actor, Time: e.Time})
	}
	return r, st.Events, nil
}

func (s *Service) loadProduct(ctx context.Context, name string) (*domain.Product, eventstore.Version, error) {
	l, err := s.products.Load(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	return l.State, l.Version, nil
}

// productRepository loads products from a snapshot plus the events after it.
func productRepository(store eventstore.Store, snaps *eventstore.Snapshots) *eventstore.Repository[*domain.Product] {
	return &eventstore.Repository[*domain.Product]{
		Store: store, Snapshots: snaps, Aggregate: AggProduct, Schema: "product/v1",
		New: func() *domain.Product { return domain.NewProduct("") },
		Apply: func(p *domain.Product, e *eventstore.RecordedEvent) (*domain.Product, error) {
			m, err := e.Decode()
			if err != nil {
				return nil, err
			}
			if p.Name == "" {
				p.Name = e.AggregateID
			}
			domain.ApplyProduct(p, m, e.ID)
			return p, nil
		},
		Policy: eventstore.DefaultSnapshotPolicy,
	}
}

// backoff sleeps a little before retrying a lost race, more each time, with jitter.
func backoff(ctx context.Context, attempt int) error {
	d := time.Duration(1+rand.IntN(2<<min(attempt, 6))) * time.Millisecond
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// execute runs a command on a release: load, skip if this request already
// ran, decide, append at the loaded version; on a conflict reload and decide
// again. expected (when non-zero) is the client's own concurrency check.
func (s *Service) execute(ctx context.Context, id, key string, expected uint64, decide func(*domain.Release) ([]proto.Message, error)) (*domain.Release, error) {
	for attempt := 0; ; attempt++ {
		r, _, err := s.LoadRelease(ctx, id)
		if err != nil {
			return nil, err
		}
		if r.HasRequest(key) {
			return r, nil // a retry of a command that already took effect
		}
		if expected != 0 && r.Exists() && r.AggregateVersion != expected {
			return nil, &errs.ConflictError{Message: fmt.Sprintf("release %s is at version %d, not the expected %d; reload and retry", id, r.AggregateVersion, expected)}
		}
		msgs, err := decide(r)
		if err != nil {
			return nil, err
		}
		if len(msgs) == 0 {
			return r, nil
		}
		_, err = s.store.Append(ctx, AggRelease, id, eventstore.Version(r.AggregateVersion), eventsWithIDs(key, msgs)...)
		if errors.Is(err, errs.ErrConcurrency) && attempt+1 < maxAttempts {
			if err := backoff(ctx, attempt); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		// Reload rather than apply locally: the returned state then carries the log's times and ids.
		r, _, err = s.LoadRelease(ctx, id)
		return r, err
	}
}

func principal(ctx context.Context) (*auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, &errs.UnauthenticatedError{Message: "no authenticated principal"}
	}
	return p, nil
}

// Create plans a release: reserve the version on the product aggregate
// (which orders versions under concurrency), then create the release. A
// retried request finds its reservation and completes or returns the release.
func (s *Service) Create(ctx context.Context, requestID string, cmd domain.CreateCommand) (*domain.Release, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if cmd.Product == "" {
		cmd.Product = "default"
	}
	if len(requestID) > 128 {
		return nil, errs.Invalid("request_id", "at most 128 characters")
	}
	key := RequestKey(p.ID, requestID)
	if key == "" {
		key = RequestKey(p.ID, ulid.Make().String()) // ids still tie the two appends together
	}
	cmd.RequestKey = key
	for attempt := 0; ; attempt++ {
		product, version, err := s.loadProduct(ctx, cmd.Product)
		if err != nil {
			return nil, err
		}
		if id, ok := product.Requests[key]; ok {
			cmd.ReleaseID = id
			return s.completeCreate(ctx, key, cmd)
		}
		cmd.ReleaseID = ulid.Make().String()
		reserve, _, err := domain.Create(cmd, product, s.envs)
		if err != nil {
			return nil, err
		}
		res, err := s.store.Append(ctx, AggProduct, cmd.Product, version, eventstore.Event{ID: key + ".v", Message: reserve})
		if err == nil && res.Duplicate {
			// A concurrent duplicate of this request reserved the version first,
			// for its own release id: reload to adopt that one.
			continue
		}
		if errors.Is(err, errs.ErrConcurrency) && attempt+1 < maxAttempts {
			if err := backoff(ctx, attempt); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		return s.completeCreate(ctx, key, cmd)
	}
}

// completeCreate appends ReleaseCreated for a reserved version (idempotently).
func (s *Service) completeCreate(ctx context.Context, key string, cmd domain.CreateCommand) (*domain.Release, error) {
	created := domain.CreatedEvent(cmd, s.envs)
	_, err := s.store.Append(ctx, AggRelease, cmd.ReleaseID, eventstore.NoStream, eventstore.Event{ID: key + ".0", Message: created})
	if err != nil && !errors.Is(err, errs.ErrConcurrency) {
		return nil, err
	}
	r, _, err := s.LoadRelease(ctx, cmd.ReleaseID)
	if err != nil {
		return nil, err
	}
	if !r.HasRequest(key) {
		return nil, &errs.ConflictError{Message: "release id collision; retry"}
	}
	return r, nil
}

// command runs decide as the request's principal on release id (see execute).
func (s *Service) command(ctx context.Context, requestID, id string, expected uint64, decide func(*auth.Principal, *domain.Release) ([]proto.Message, error)) (*domain.Release, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if len(requestID) > 128 {
		return nil, errs.Invalid("request_id", "at most 128 characters")
	}
	return s.execute(ctx, id, RequestKey(p.ID, requestID), expected, func(r *domain.Release) ([]proto.Message, error) {
		return decide(p, r)
	})
}

// Update edits a planned release.
func (s *Service) Update(ctx context.Context, requestID, id string, expected uint64, cmd domain.UpdateCommand) (*domain.Release, error) {
	return s.command(ctx, requestID, id, expected, func(_ *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.Update(r, id, cmd, s.envs)
	})
}

// AddChange adds a change.
func (s *Service) AddChange(ctx context.Context, requestID, id string, c *releasev1.Change) (*domain.Release, error) {
	return s.command(ctx, requestID, id, 0, func(_ *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.AddChange(r, id, c)
	})
}

// Approve approves for an environment.
func (s *Service) Approve(ctx context.Context, requestID, id, env, comment string) (*domain.Release, error) {
	return s.command(ctx, requestID, id, 0, func(p *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.Approve(r, id, p, env, comment, s.envs)
	})
}

// Reject rejects for an environment.
func (s *Service) Reject(ctx context.Context, requestID, id, env, reason string) (*domain.Release, error) {
	return s.command(ctx, requestID, id, 0, func(p *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.Reject(r, id, p, env, reason, s.envs)
	})
}

// Promote requests a deployment.
func (s *Service) Promote(ctx context.Context, requestID, id, env, strategy string) (*domain.Release, error) {
	return s.command(ctx, requestID, id, 0, func(p *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.Promote(r, id, p, env, strategy, s.envs, s.gates, s.now())
	})
}

// Cancel cancels.
func (s *Service) Cancel(ctx context.Context, requestID, id, reason string) (*domain.Release, error) {
	return s.command(ctx, requestID, id, 0, func(_ *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.Cancel(r, id, reason)
	})
}

// AddPrerequisite adds a prerequisite.
func (s *Service) AddPrerequisite(ctx context.Context, requestID, id string, pr *releasev1.Prerequisite) (*domain.Release, error) {
	return s.command(ctx, requestID, id, 0, func(_ *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.AddPrerequisite(r, id, pr, s.envs)
	})
}

// UpdatePrerequisite updates a prerequisite.
func (s *Service) UpdatePrerequisite(ctx context.Context, requestID, id string, u *releasev1.PrerequisiteUpdated) (*domain.Release, error) {
	return s.command(ctx, requestID, id, 0, func(_ *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.UpdatePrerequisite(r, id, u)
	})
}

// SetRisk sets the risk assessment.
func (s *Service) SetRisk(ctx context.Context, requestID, id string, risk *releasev1.RiskAssessment) (*domain.Release, error) {
	return s.command(ctx, requestID, id, 0, func(_ *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.SetRisk(r, id, risk)
	})
}

// Get returns a release, NotFound when it does not exist.
func (s *Service) Get(ctx context.Context, id string) (*domain.Release, []*eventstore.RecordedEvent, error) {
	r, events, err := s.LoadRelease(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if !r.Exists() {
		return nil, nil, &errs.NotFoundError{Kind: "release", ID: id}
	}
	return r, events, nil
}

// OnDeploymentEvent reacts to a deployer event: it moves the release's
// environment status and records what the environment runs on the product.
// Event ids derive from the causing event, so redelivery writes nothing twice.
func (s *Service) OnDeploymentEvent(ctx context.Context, cause *eventstore.RecordedEvent) error {
	m, err := cause.Decode()
	if err != nil {
		return nil // not a deployer event this version understands; nothing to do
	}
	id := domain.DeploymentReleaseID(m)
	if id == "" || !eventstore.ValidID(id) {
		return nil
	}
	key := RequestKey("event", cause.ID)
	r, err := s.execute(ctx, id, key, 0, func(r *domain.Release) ([]proto.Message, error) {
		rel, _ := domain.OnDeploymentEvent(r, m)
		return rel, nil
	})
	if err != nil || !r.Exists() {
		return err
	}
	// Recomputed rather than carried over, so a crash between the two appends
	// is completed on redelivery; the product's applied keys stop a repeat.
	productEvents, product := domain.ProductEventsFor(r, m), r.Product
	if len(productEvents) == 0 {
		return nil
	}
	for attempt := 0; ; attempt++ {
		p, version, err := s.loadProduct(ctx, product)
		if err != nil {
			return err
		}
		if p.HasRequest(key) {
			return nil
		}
		events := make([]eventstore.Event, len(productEvents))
		for i, pe := range productEvents {
			events[i] = eventstore.Event{ID: key + ".p" + strconv.Itoa(i), Message: pe}
		}
		_, err = s.store.Append(ctx, AggProduct, product, version, events...)
		if errors.Is(err, errs.ErrConcurrency) && attempt+1 < maxAttempts {
			if err := backoff(ctx, attempt); err != nil {
				return err
			}
			continue
		}
		return err
	}
}
