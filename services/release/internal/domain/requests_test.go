package domain_test

import (
	"fmt"
	"testing"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

func TestProductRemembersRecentCreates(t *testing.T) {
	t.Parallel()
	p := domain.NewProduct(product)
	domain.ApplyProduct(p, &releasev1.VersionReserved{Version: "2.2.0", ReleaseId: relID, RequestKey: "rq-create"})
	domain.ApplyProduct(p, &releasev1.ProductDeployed{Environment: "staging", Version: "2.2.0"})
	domain.ApplyProduct(p, &releasev1.ProductDeployed{Environment: "production", Version: "2.1.4"})
	if id, ok := p.ReleaseFor("rq-create"); !ok || id != relID {
		t.Errorf("ReleaseFor(rq-create) = %q, %v; want %s", id, ok, relID)
	}
	if _, ok := p.ReleaseFor(""); ok {
		t.Error("ReleaseFor(\"\") found a release")
	}
	if p.Runs("staging") != "2.2.0" || p.Runs("production") != "2.1.4" || p.Runs("dr") != "" {
		t.Errorf("Runs = %q %q %q", p.Runs("staging"), p.Runs("production"), p.Runs("dr"))
	}
	domain.ApplyProduct(p, &releasev1.ProductDeployed{Environment: "staging"})
	if p.Runs("staging") != "" {
		t.Errorf("after an empty ProductDeployed staging runs %q", p.Runs("staging"))
	}
	// Only the latest 1,000 creates are remembered: a product's history grows with every release.
	for i := range 1000 {
		domain.ApplyProduct(p, &releasev1.VersionReserved{Version: fmt.Sprintf("3.%d.0", i), ReleaseId: fmt.Sprint("r", i), RequestKey: fmt.Sprint("rq-", i)})
	}
	if _, ok := p.ReleaseFor("rq-create"); ok {
		t.Error("the oldest create is still remembered after 1,000 more")
	}
	if id, ok := p.ReleaseFor("rq-999"); !ok || id != "r999" {
		t.Errorf("ReleaseFor(rq-999) = %q, %v", id, ok)
	}
	// The snapshot encoding keeps all of it.
	b, err := domain.MarshalProduct(p)
	mustOK(t, err)
	q, err := domain.UnmarshalProduct(b)
	mustOK(t, err)
	if id, _ := q.ReleaseFor("rq-500"); id != "r500" || q.LatestFinal().String() != p.LatestFinal().String() || q.Name() != product {
		t.Errorf("after a snapshot round trip: %v %v %v", id, q.LatestFinal(), q.Name())
	}
	domain.ApplyProduct(q, &releasev1.VersionReserved{Version: "9.0.0", ReleaseId: "r-next", RequestKey: "rq-next"})
	if _, ok := q.ReleaseFor("rq-0"); ok {
		t.Error("a restored product forgot the bound on remembered creates")
	}
}
