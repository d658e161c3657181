package adapters

import (
	"context"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/projection"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	"github.com/penguinmails/floe/services/deployer/internal/app"
	"github.com/penguinmails/floe/services/deployer/internal/domain"
)

// ViewName is the deployment view's name (checkpoint bucket view_deployments).
const ViewName = "deployments"

// Deployments is the deployment view: every deployment folded with the
// aggregate's own Apply, rendered on each change, indexed by environment,
// release and whether it is active.
type Deployments struct {
	proj  *projection.Projection[*domain.Deployment]
	idx   *projection.Index[*deployv1.Deployment]
	head  func(ctx context.Context, id string) (uint64, error)
	store eventstore.Store
}

const (
	byEnv     = "environment"
	byRelease = "release"
	byActive  = "active"
)

// DeploymentsSpec is the view's projection spec, without the listing index.
func DeploymentsSpec() projection.Spec[*domain.Deployment] {
	return projection.Aggregates(ViewName, app.DeploymentKind)
}

// NewDeployments builds the view; Projection runs it.
func NewDeployments(ctx context.Context, js jetstream.JetStream, store eventstore.Store, opts projection.Options) (*Deployments, error) {
	v := &Deployments{store: store}
	v.idx = projection.NewIndex(
		func(d *deployv1.Deployment) string { return d.GetId() },
		func(a, b *deployv1.Deployment) bool {
			ta, tb := a.GetStartedAt(), b.GetStartedAt()
			if ta.GetSeconds() != tb.GetSeconds() {
				return ta.GetSeconds() > tb.GetSeconds()
			}
			if ta.GetNanos() != tb.GetNanos() {
				return ta.GetNanos() > tb.GetNanos()
			}
			return a.GetId() > b.GetId()
		},
		map[string]func(*deployv1.Deployment) []string{
			byEnv:     func(d *deployv1.Deployment) []string { return []string{d.GetEnvironment()} },
			byRelease: func(d *deployv1.Deployment) []string { return []string{d.GetReleaseId()} },
			byActive:  func(d *deployv1.Deployment) []string { return []string{strconv.FormatBool(isActive(d))} },
		},
	)
	spec := DeploymentsSpec()
	spec.OnChange = func(_ string, d *domain.Deployment, deleted bool) {
		if deleted || !d.Exists() {
			v.idx.Delete(d.ID())
			return
		}
		v.idx.Put(domain.ToProto(d))
	}
	spec.OnReset = v.idx.Reset
	p, err := projection.New(ctx, js, spec, opts)
	if err != nil {
		return nil, err
	}
	v.proj = p
	v.head = func(ctx context.Context, id string) (uint64, error) {
		_, seq, err := store.Head(ctx, app.Aggregate, id)
		return seq, err
	}
	return v, nil
}

func isActive(d *deployv1.Deployment) bool {
	switch d.GetStatus() {
	case deployv1.DeploymentStatus_DEPLOYMENT_STATUS_RUNNING, deployv1.DeploymentStatus_DEPLOYMENT_STATUS_PAUSED, deployv1.DeploymentStatus_DEPLOYMENT_STATUS_ROLLING_BACK:
		return true
	}
	return false
}

// Projection is the view's projection.
func (v *Deployments) Projection() *projection.Projection[*domain.Deployment] { return v.proj }

// Get returns a deployment as of its latest event in the log.
func (v *Deployments) Get(ctx context.Context, id string) (*deployv1.Deployment, error) {
	seq, err := v.head(ctx, id)
	if err != nil {
		return nil, err
	}
	if seq == 0 {
		return nil, &errs.NotFoundError{Kind: "deployment", ID: id}
	}
	if err := v.proj.Wait(ctx, max(seq, causal.MinPosition(ctx))); err != nil {
		return nil, err
	}
	if err := v.proj.Tampered(ctx, id); err != nil {
		return nil, err // an event of it fails verification: say so rather than show what may be forged
	}
	var out *deployv1.Deployment
	v.proj.Read(func() { out, _ = v.idx.Get(id) })
	if out == nil {
		return nil, &errs.UnavailableError{What: "deployment view", Err: fmt.Errorf("deployment %s is not in the view", id)}
	}
	return out, nil
}

// AsOf is the deployment as it was at log position pos (or, pos 0, at moment at) (kernel.Kind.AsOf:
// its events up to pos, verified, folded by the aggregate's own Apply),
// rendered as the view renders it. A deployment started after pos is NotFound.
func (v *Deployments) AsOf(ctx context.Context, id string, pos uint64, at *timestamppb.Timestamp) (*deployv1.Deployment, error) {
	d, err := app.DeploymentKind.AsOf(ctx, v.store, id, pos, at)
	if err != nil {
		return nil, err
	}
	return domain.ToProto(d), nil
}

// ListQuery filters and pages a listing.
type ListQuery struct {
	Environment, ReleaseID string
	Active                 bool
	PageSize               int
	PageToken              string
}

// List returns a page of deployments, newest first, the next page's token
// and the number of matches.
func (v *Deployments) List(ctx context.Context, q ListQuery) ([]*deployv1.Deployment, string, int, error) {
	after, hasAfter, err := decodeCursor(q.PageToken)
	if err != nil {
		return nil, "", 0, err
	}
	if err := v.proj.Wait(ctx, causal.MinPosition(ctx)); err != nil {
		return nil, "", 0, err
	}
	query := projection.Query[*deployv1.Deployment]{Equal: map[string]string{}, Limit: q.PageSize, Total: true, After: after, HasAfter: hasAfter}
	if q.Environment != "" {
		query.Equal[byEnv] = q.Environment
	}
	if q.ReleaseID != "" {
		query.Equal[byRelease] = q.ReleaseID
	}
	if q.Active {
		query.Equal[byActive] = "true"
	}
	var page []*deployv1.Deployment
	var more bool
	var total int
	v.proj.Read(func() { page, more, total = v.idx.Find(query) })
	next := ""
	if more && len(page) > 0 {
		last := page[len(page)-1]
		next = projection.EncodeCursor(last.GetStartedAt().AsTime(), last.GetId())
	}
	return page, next, total, nil
}

// ValidPageToken reports whether token is "" or one List issued.
func ValidPageToken(token string) bool {
	_, _, err := decodeCursor(token)
	return err == nil
}

func decodeCursor(token string) (*deployv1.Deployment, bool, error) {
	if token == "" {
		return nil, false, nil
	}
	t, id, ok := projection.DecodeCursor(token)
	if !ok {
		return nil, false, errs.Invalid("page_token", "is not a token this service issued")
	}
	return &deployv1.Deployment{Id: id, StartedAt: timestamppb.New(t)}, true, nil
}
