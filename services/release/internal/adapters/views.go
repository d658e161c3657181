// Package adapters connects the release service to NATS: the release view
// (a projection of the release events, held in memory and checkpointed to
// KV) and the subscription to the deployer's events.
package adapters

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/projection"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/app"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

// ViewName is the release view's name (its checkpoint bucket is view_releases).
const ViewName = "releases"

// Releases is the release view: every release folded from its events with
// the aggregate's own Apply, rendered for the API on each change, and
// indexed by status, type, product and target environment for listing.
type Releases struct {
	proj  *projection.Projection[*domain.Release]
	idx   *projection.Index[*releasev1.Release]
	head  func(ctx context.Context, id string) (uint64, error)
	now   func() time.Time
	store eventstore.Store
	envs  *domain.Environments
}

// index fields.
const (
	byStatus  = "status"
	byType    = "type"
	byProduct = "product"
	byEnv     = "environment"
)

// ReleasesSpec is the view's projection spec, without the listing index.
func ReleasesSpec() projection.Spec[*domain.Release] {
	return projection.Aggregates(ViewName, app.ReleaseKind)
}

// NewReleases builds the view; Projection runs it.
func NewReleases(ctx context.Context, js jetstream.JetStream, store eventstore.Store, envs *domain.Environments, now func() time.Time, opts projection.Options) (*Releases, error) {
	v := &Releases{now: now, store: store, envs: envs}
	v.idx = projection.NewIndex(
		func(r *releasev1.Release) string { return r.GetId() },
		newestFirst,
		map[string]func(*releasev1.Release) []string{
			byStatus:  func(r *releasev1.Release) []string { return []string{r.GetStatus().String()} },
			byType:    func(r *releasev1.Release) []string { return []string{r.GetType().String()} },
			byProduct: func(r *releasev1.Release) []string { return []string{r.GetProduct()} },
			byEnv:     func(r *releasev1.Release) []string { return r.GetTargetEnvironments() },
		},
	)
	spec := ReleasesSpec()
	spec.OnChange = func(_ string, r *domain.Release, deleted bool) {
		if deleted || !r.Exists() {
			v.idx.Delete(r.ID())
			return
		}
		// Rendered once per change; overdue flags depend on the time and are set on read.
		v.idx.Put(domain.ToProto(r, envs, time.Time{}))
	}
	spec.OnReset = v.idx.Reset
	p, err := projection.New(ctx, js, spec, opts)
	if err != nil {
		return nil, err
	}
	v.proj = p
	v.head = func(ctx context.Context, id string) (uint64, error) {
		_, seq, err := store.Head(ctx, app.AggRelease, id)
		return seq, err
	}
	return v, nil
}

// Projection is the view's projection (for the runtime to run and list).
func (v *Releases) Projection() *projection.Projection[*domain.Release] { return v.proj }

// newestFirst orders releases by creation time, newest first, then by id.
func newestFirst(a, b *releasev1.Release) bool {
	ta, tb := a.GetCreatedAt(), b.GetCreatedAt()
	if ta.GetSeconds() != tb.GetSeconds() {
		return ta.GetSeconds() > tb.GetSeconds()
	}
	if ta.GetNanos() != tb.GetNanos() {
		return ta.GetNanos() > tb.GetNanos()
	}
	return a.GetId() > b.GetId()
}

// withOverdue is r with its prerequisites' overdue flags as of now (a copy
// when any flag is set; the view's own rows are never changed).
func withOverdue(r *releasev1.Release, now time.Time) *releasev1.Release {
	var out *releasev1.Release
	for i, p := range r.GetPrerequisites() {
		if domain.Overdue(p, now) {
			if out == nil {
				out = proto.Clone(r).(*releasev1.Release)
			}
			out.Prerequisites[i].Overdue = true
		}
	}
	if out == nil {
		return r
	}
	return out
}

// Get returns a release as of its latest event in the log (and at least as
// of the caller's min position). It reads the log's head for the release
// once, then the view.
func (v *Releases) Get(ctx context.Context, id string) (*releasev1.Release, error) {
	seq, err := v.head(ctx, id)
	if err != nil {
		return nil, err
	}
	if seq == 0 {
		return nil, &errs.NotFoundError{Kind: "release", ID: id}
	}
	if err := v.proj.Wait(ctx, max(seq, causal.MinPosition(ctx))); err != nil {
		return nil, err
	}
	if err := v.proj.Tampered(ctx, id); err != nil {
		return nil, err // an event of it fails verification: say so rather than show what may be forged
	}
	var out *releasev1.Release
	v.proj.Read(func() { out, _ = v.idx.Get(id) })
	if out == nil {
		// The release's events are in the log but the view skipped them (see ListViews).
		return nil, &errs.UnavailableError{What: "release view", Err: fmt.Errorf("release %s is not in the view", id)}
	}
	return withOverdue(out, v.now()), nil
}

// AsOf is the release as it was at log position pos (or, pos 0, at moment at) (kernel.Kind.AsOf: its
// events up to pos, verified, folded by the aggregate's own Apply), rendered
// as the view renders a row. A release created after pos is NotFound.
func (v *Releases) AsOf(ctx context.Context, id string, pos uint64, at *timestamppb.Timestamp) (*releasev1.Release, error) {
	r, err := app.ReleaseKind.AsOf(ctx, v.store, id, pos, at)
	if err != nil {
		return nil, err
	}
	return domain.ToProto(r, v.envs, time.Time{}), nil
}

// ListQuery filters and pages a listing.
type ListQuery struct {
	Status      releasev1.ReleaseStatus
	Type        releasev1.ReleaseType
	Product     string
	Environment string
	Text        string
	PageSize    int
	PageToken   string
}

// List returns a page of releases, newest first, the token of the next page
// ("" on the last) and the number of matching releases. Its cost depends on
// the page size and the smallest index the filters pin, not on the number of
// releases (a text search scans what the other filters leave).
func (v *Releases) List(ctx context.Context, q ListQuery) ([]*releasev1.Release, string, int, error) {
	after, hasAfter, err := decodeCursor(q.PageToken)
	if err != nil {
		return nil, "", 0, err
	}
	if err := v.proj.Wait(ctx, causal.MinPosition(ctx)); err != nil {
		return nil, "", 0, err
	}
	query := projection.Query[*releasev1.Release]{Equal: map[string]string{}, Limit: q.PageSize, Total: true, After: after, HasAfter: hasAfter}
	if q.Status != releasev1.ReleaseStatus_RELEASE_STATUS_UNSPECIFIED {
		query.Equal[byStatus] = q.Status.String()
	}
	if q.Type != releasev1.ReleaseType_RELEASE_TYPE_UNSPECIFIED {
		query.Equal[byType] = q.Type.String()
	}
	if q.Product != "" {
		query.Equal[byProduct] = q.Product
	}
	if q.Environment != "" {
		query.Equal[byEnv] = q.Environment
	}
	if text := strings.ToLower(q.Text); text != "" {
		query.Match = func(r *releasev1.Release) bool { return matchesText(r, text) }
	}
	var page []*releasev1.Release
	var more bool
	var total int
	v.proj.Read(func() { page, more, total = v.idx.Find(query) })
	now := v.now()
	for i, r := range page {
		page[i] = withOverdue(r, now)
	}
	next := ""
	if more && len(page) > 0 {
		next = encodeCursor(page[len(page)-1])
	}
	return page, next, total, nil
}

func matchesText(r *releasev1.Release, text string) bool {
	hay := []string{r.GetVersion(), r.GetTitle(), r.GetDescription()}
	for _, c := range r.GetChanges() {
		hay = append(hay, c.GetSummary())
	}
	for _, h := range hay {
		if strings.Contains(strings.ToLower(h), text) {
			return true
		}
	}
	return false
}

// ValidPageToken reports whether token is "" or a page token List issued.
func ValidPageToken(token string) bool {
	_, _, err := decodeCursor(token)
	return err == nil
}

func encodeCursor(r *releasev1.Release) string {
	return projection.EncodeCursor(r.GetCreatedAt().AsTime(), r.GetId())
}

func decodeCursor(token string) (*releasev1.Release, bool, error) {
	if token == "" {
		return nil, false, nil
	}
	t, id, ok := projection.DecodeCursor(token)
	if !ok {
		return nil, false, errs.Invalid("page_token", "is not a token this service issued")
	}
	return &releasev1.Release{Id: id, CreatedAt: timestamppb.New(t)}, true, nil
}
