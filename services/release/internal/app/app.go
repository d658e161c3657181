// Package app runs the release service's commands on the command kernel
// (libs/kernel): load the aggregate, decide with the domain, append at the
// loaded version — and its reactions to the deployer's events.
package app

import (
	"context"
	"errors"
	"time"

	"github.com/oklog/ulid/v2"
	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/ident"
	"github.com/penguinmails/floe/libs/kernel"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/change/changeview"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

// Aggregate names in the log.
const (
	AggRelease = "release"
	AggProduct = "product"
)

// ReleaseKind describes the release aggregate to the kernel and to views.
var ReleaseKind = kernel.Kind[*domain.Release]{
	Name: AggRelease,
	New:  func(string) *domain.Release { return domain.NewRelease() },
	Apply: func(r *domain.Release, e *eventstore.RecordedEvent) (*domain.Release, error) {
		m, err := e.Decode()
		if err != nil {
			return nil, err
		}
		domain.Apply(r, m, domain.Meta{Actor: e.Actor, Time: e.Time})
		return r, nil
	},
	Codec:         kernel.Codec[*domain.Release]{Schema: domain.ReleaseSchema, Marshal: domain.MarshalRelease, Unmarshal: domain.UnmarshalRelease},
	SnapshotEvery: 50,
}

// ProductKind describes the product aggregate. Its history grows with every
// release, so it is snapshotted.
var ProductKind = kernel.Kind[*domain.Product]{
	Name: AggProduct,
	New:  domain.NewProduct,
	Apply: func(p *domain.Product, e *eventstore.RecordedEvent) (*domain.Product, error) {
		m, err := e.Decode()
		if err != nil {
			return nil, err
		}
		domain.ApplyProduct(p, m)
		return p, nil
	},
	Codec:         kernel.Codec[*domain.Product]{Schema: "product/2", Marshal: domain.MarshalProduct, Unmarshal: domain.UnmarshalProduct},
	SnapshotEvery: 100,
}

// Service handles release commands.
type Service struct {
	releases *kernel.Handler[*domain.Release]
	products *kernel.Handler[*domain.Product]
	envs     *domain.Environments
	now      func() time.Time
	gates    Gates
	changes  Changes
}

// Changes is what promotions ask about change management (changeview.View):
// the calendar of windows and freezes, and the change that authorizes a
// promotion where one is required.
type Changes interface {
	Sync(ctx context.Context) error
	Check(releaseID, env, requester string, now time.Time, requireChange bool, kind changeview.PromotionKind) (changeview.Authorization, error)
}

// Gates is what promotions ask about testing gates (adapters.Gates).
type Gates interface {
	// Sync waits until what it knows is as recent as the log.
	Sync(ctx context.Context) error
	// Checker answers as of now.
	Checker(now time.Time) domain.GateChecker
}

// New returns a Service; store and envs are required. snaps (optional)
// holds snapshots; gates (optional) says why testing gates forbid a promotion.
func New(store eventstore.Store, snaps *eventstore.Snapshots, envs *domain.Environments, now func() time.Time, gates Gates, changes Changes) (*Service, error) {
	if store == nil || envs == nil {
		return nil, errors.New("release app: store and environments are required")
	}
	if now == nil {
		now = time.Now
	}
	releases, err := kernel.New(store, ReleaseKind, kernel.Options{Snapshots: snaps, Clock: now})
	if err != nil {
		return nil, err
	}
	products, err := kernel.New(store, ProductKind, kernel.Options{Snapshots: snaps, Clock: now})
	if err != nil {
		return nil, err
	}
	return &Service{releases: releases, products: products, envs: envs, now: now, gates: gates, changes: changes}, nil
}

// Environments returns the environment definitions.
func (s *Service) Environments() *domain.Environments { return s.envs }

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now() }

// Render is a release as the API shows it now.
func (s *Service) Render(r *domain.Release) *releasev1.Release {
	return domain.ToProto(r, s.envs, s.now())
}

func principal(ctx context.Context) (*auth.Principal, error) {
	p, ok := auth.FromContext(ctx)
	if !ok {
		return nil, &errs.UnauthenticatedError{Message: "no authenticated principal"}
	}
	return p, nil
}

// checkID refuses a release id that is not an identifier (the API checks
// it first; this guards every other caller).
func checkID(id string) error {
	var v errs.Violations
	ident.Check(&v, "release_id", id)
	return v.Err()
}

// Create plans a release: reserve the version on the product aggregate
// (which orders versions under concurrency), then create the release. Both
// appends carry the request's idempotency key, so a retried request finds
// its reservation and completes or returns the release it created. The
// product is required and must be a valid name (domain.ProductName): it is
// the product aggregate's id, so an invalid one is refused, with every other
// problem of the command, before anything reads the log.
func (s *Service) Create(ctx context.Context, cmd domain.CreateCommand) (*releasev1.Release, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if !domain.ProductName.Valid(cmd.Product) {
		return nil, domain.CheckCreate(cmd, s.envs)
	}
	key := ""
	if o, ok := causal.From(ctx); ok {
		key = o.Key
	}
	if key == "" {
		key = causal.Key(p.ID, ulid.Make().String()) // ties the two appends together all the same
	}
	cmd.RequestKey = key
	var releaseID string
	adopt := func(prod *domain.Product) {
		if id, ok := prod.ReleaseFor(key); ok {
			releaseID = id
		}
	}
	if _, err := s.products.Execute(ctx, kernel.Command[*domain.Product]{
		ID: cmd.Product, Key: key, Observe: adopt,
		Decide: func(prod *domain.Product) ([]proto.Message, error) {
			if _, ok := prod.ReleaseFor(key); ok {
				return nil, nil // reserved by an earlier attempt of this request
			}
			c := cmd
			c.ReleaseID = ulid.Make().String()
			reserve, _, err := domain.Create(c, prod, s.envs)
			if err != nil {
				return nil, err
			}
			return []proto.Message{reserve}, nil
		},
	}); err != nil {
		return nil, err
	}
	if releaseID == "" {
		return nil, errors.New("release app: the product recorded no release for the reservation")
	}
	cmd.ReleaseID = releaseID
	created := domain.CreatedEvent(cmd, s.envs)
	var out *releasev1.Release
	_, err = s.releases.Execute(ctx, kernel.Command[*domain.Release]{
		ID: releaseID, Key: key, Expect: kernel.ExpectNew,
		Decide:  func(*domain.Release) ([]proto.Message, error) { return []proto.Message{created}, nil },
		Observe: func(r *domain.Release) { out = s.Render(r) },
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// command runs decide as the request's principal on release id. expected
// (when non-zero) is the client's own concurrency check.
func (s *Service) command(ctx context.Context, id string, expected uint64, decide func(*auth.Principal, *domain.Release) ([]proto.Message, error)) (*releasev1.Release, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkID(id); err != nil {
		return nil, err
	}
	var out *releasev1.Release
	cmd := kernel.Command[*domain.Release]{
		ID:      id,
		Decide:  func(r *domain.Release) ([]proto.Message, error) { return decide(p, r) },
		Observe: func(r *domain.Release) { out = s.Render(r) },
	}
	if expected != 0 {
		cmd.Expect = kernel.ExpectVersion(eventstore.Version(expected))
	}
	if _, err := s.releases.Execute(ctx, cmd); err != nil {
		return nil, err
	}
	return out, nil
}

// Update edits a planned release.
func (s *Service) Update(ctx context.Context, id string, expected uint64, cmd domain.UpdateCommand) (*releasev1.Release, error) {
	return s.command(ctx, id, expected, func(_ *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.Update(r, id, cmd, s.envs)
	})
}

// AddChange adds a change.
func (s *Service) AddChange(ctx context.Context, id string, c *releasev1.Change) (*releasev1.Release, error) {
	return s.command(ctx, id, 0, func(_ *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.AddChange(r, id, c)
	})
}

// Approve approves for an environment, as the request's principal (for a
// delegated request, the principal it was made for, the delegation recorded).
func (s *Service) Approve(ctx context.Context, id, env, comment string) (*releasev1.Release, error) {
	ch := channel(ctx)
	return s.command(ctx, id, 0, func(p *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.Approve(r, id, p, ch, env, comment, s.envs)
	})
}

// Reject rejects for an environment, as Approve approves.
func (s *Service) Reject(ctx context.Context, id, env, reason string) (*releasev1.Release, error) {
	ch := channel(ctx)
	return s.command(ctx, id, 0, func(p *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.Reject(r, id, p, ch, env, reason, s.envs)
	})
}

// RequestApproval asks env's approvers to decide on the release.
func (s *Service) RequestApproval(ctx context.Context, id, env, note string) (*releasev1.Release, error) {
	return s.command(ctx, id, 0, func(_ *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.RequestApproval(r, id, env, note, s.envs)
	})
}

// channel is the request's delegation as the domain records it (zero for a direct call).
func channel(ctx context.Context) domain.Channel {
	if d, ok := auth.DelegationFrom(ctx); ok {
		return domain.Channel{Via: d.Via, Delegate: d.By}
	}
	return domain.Channel{}
}

// Promote requests a deployment.
func (s *Service) Promote(ctx context.Context, id, env string, strategy deployv1.DeploymentStrategy) (*releasev1.Release, error) {
	var gates domain.GateChecker
	if s.gates != nil {
		if err := s.gates.Sync(ctx); err != nil {
			return nil, err
		}
		gates = s.gates.Checker(s.now())
	}
	var changes domain.ChangeChecker
	if s.changes != nil {
		if err := s.changes.Sync(ctx); err != nil {
			return nil, err
		}
		now := s.now()
		changes = func(releaseID, env, requester string, requireChange bool) (domain.ChangeAuthorization, error) {
			a, err := s.changes.Check(releaseID, env, requester, now, requireChange, changeview.PromotionNormal)
			return domain.ChangeAuthorization{ChangeID: a.ChangeID, WindowID: a.WindowID, FreezeOverride: a.FreezeOverride}, err
		}
	}
	return s.command(ctx, id, 0, func(p *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.Promote(r, id, p, env, strategy, s.envs, gates, changes, s.now())
	})
}

// Cancel cancels.
func (s *Service) Cancel(ctx context.Context, id, reason string) (*releasev1.Release, error) {
	return s.command(ctx, id, 0, func(_ *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.Cancel(r, id, reason)
	})
}

// AddPrerequisite adds a prerequisite.
func (s *Service) AddPrerequisite(ctx context.Context, id string, pr *releasev1.Prerequisite) (*releasev1.Release, error) {
	return s.command(ctx, id, 0, func(_ *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.AddPrerequisite(r, id, pr, s.envs)
	})
}

// UpdatePrerequisite updates a prerequisite.
func (s *Service) UpdatePrerequisite(ctx context.Context, id string, u *releasev1.PrerequisiteUpdated) (*releasev1.Release, error) {
	return s.command(ctx, id, 0, func(_ *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.UpdatePrerequisite(r, id, u)
	})
}

// SetRisk sets the risk assessment.
func (s *Service) SetRisk(ctx context.Context, id string, risk *releasev1.RiskAssessment) (*releasev1.Release, error) {
	return s.command(ctx, id, 0, func(_ *auth.Principal, r *domain.Release) ([]proto.Message, error) {
		return domain.SetRisk(r, id, risk)
	})
}

// Read calls fn with the release as the log has it now (NotFound when it
// does not exist); fn must not keep r.
func (s *Service) Read(ctx context.Context, id string, fn func(r *domain.Release, position uint64) error) error {
	if err := checkID(id); err != nil {
		return err
	}
	return s.releases.Read(ctx, id, func(r *domain.Release, _ eventstore.Version, pos uint64) error {
		if !r.Exists() {
			return &errs.NotFoundError{Kind: "release", ID: id}
		}
		return fn(r, pos)
	})
}

// History is the release and every event of it, folded from the log.
func (s *Service) History(ctx context.Context, id string) (*domain.Release, []*eventstore.RecordedEvent, error) {
	if err := checkID(id); err != nil {
		return nil, nil, err
	}
	r, events, err := s.releases.Replay(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	if !r.Exists() {
		return nil, nil, &errs.NotFoundError{Kind: "release", ID: id}
	}
	return r, events, nil
}

// DeploymentEvents are the deployer events the release service reacts to.
var DeploymentEvents = eventstore.EventFilters(
	&deployv1.DeploymentStarted{}, &deployv1.DeploymentSucceeded{}, &deployv1.DeploymentFailed{}, &deployv1.RolledBack{},
)

// OnDeploymentEvent reacts to a deployer event: it moves the release's
// environment status and records what the environment runs on the product.
// Both appends carry the reaction's key (derived from the causing event), so
// a redelivered event writes nothing twice, and a crash between them is
// completed on redelivery.
func (s *Service) OnDeploymentEvent(ctx context.Context, cause *eventstore.RecordedEvent) error {
	m, err := cause.Decode()
	if err != nil {
		return nil // not a deployer event this version understands; nothing to do
	}
	id := domain.DeploymentReleaseID(m)
	if id == "" || !eventstore.ValidID(id) {
		return nil
	}
	var product string
	var productEvents []proto.Message
	if _, err := s.releases.Execute(ctx, kernel.Command[*domain.Release]{
		ID: id,
		Decide: func(r *domain.Release) ([]proto.Message, error) {
			rel, _ := domain.OnDeploymentEvent(r, m, cause.Time)
			return rel, nil
		},
		// Recomputed on every delivery, so a crash before the product's append is made good.
		Observe: func(r *domain.Release) {
			if r.Exists() {
				product, productEvents = r.Product(), domain.ProductEventsFor(r, m)
			}
		},
	}); err != nil {
		return err
	}
	if len(productEvents) == 0 {
		return nil
	}
	_, err = s.products.Execute(ctx, kernel.Command[*domain.Product]{
		ID:     product,
		Decide: func(*domain.Product) ([]proto.Message, error) { return productEvents, nil },
	})
	return err
}
