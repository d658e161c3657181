package domain_test

import (
	"testing"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

func TestRequestKeyOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, id, want string
	}{
		{name: "command event", id: "rq-3f9a0c.0", want: "rq-3f9a0c"},
		{name: "later event of the command", id: "rq-3f9a0c.12", want: "rq-3f9a0c"},
		{name: "product event of a reaction", id: "rq-3f9a0c.p0", want: "rq-3f9a0c"},
		{name: "no sequence", id: "rq-3f9a0c"},
		{name: "random id", id: "01JRANDOMEVENTID000000000"},
		{name: "dotted but not a request", id: "evt-1.0"},
		{name: "prefix not at the start", id: "x-rq-1.0"},
		{name: "empty", id: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := domain.RequestKeyOf(tt.id); got != tt.want {
				t.Errorf("RequestKeyOf(%q) = %q, want %q", tt.id, got, tt.want)
			}
		})
	}
}

func TestHasRequest(t *testing.T) {
	t.Parallel()
	r := releaseFrom(t,
		[]ev{{msg: createdMsg(), actor: "alice", id: "rq-create.0"}},
		[]ev{{msg: &releasev1.ApprovalGranted{Environment: "production", Approver: "rita", ContentRevision: 1}, actor: "rita", id: "rq-approve.0"}},
		[]ev{{msg: &releasev1.ChangeAdded{Change: &releasev1.Change{Id: "c2"}}, actor: "alice", id: "rq-change.0"}},
		[]ev{{msg: &releasev1.ApprovalsVoided{Environments: []string{"production"}}, actor: "alice", id: "rq-change.1"}},
		[]ev{{msg: &releasev1.ReleaseDeploying{Environment: "development"}, actor: "system:floe", id: "01JRANDOM"}},
	)
	for _, tt := range []struct {
		key  string
		want bool
	}{
		{"rq-create", true}, {"rq-approve", true}, {"rq-change", true},
		{"rq-other", false}, {"", false}, {"01JRANDOM", false},
	} {
		if got := r.HasRequest(tt.key); got != tt.want {
			t.Errorf("HasRequest(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
	if fresh := domain.NewRelease(); fresh.HasRequest("rq-create") {
		t.Error("a release with no events has a request applied")
	}
}

func TestProductHasRequest(t *testing.T) {
	t.Parallel()
	p := domain.NewProduct(product)
	domain.ApplyProduct(p, &releasev1.VersionReserved{Version: "2.2.0", ReleaseId: relID, RequestKey: "rq-create"}, "rq-create.0")
	domain.ApplyProduct(p, &releasev1.ProductDeployed{Environment: "staging", Version: "2.2.0"}, "rq-event.p0")
	domain.ApplyProduct(p, &releasev1.ProductDeployed{Environment: "production", Version: "2.1.4"}, "01JRANDOM")
	for _, tt := range []struct {
		key  string
		want bool
	}{{"rq-create", true}, {"rq-event", true}, {"rq-other", false}, {"", false}} {
		if got := p.HasRequest(tt.key); got != tt.want {
			t.Errorf("HasRequest(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
	if p.Requests["rq-create"] != relID {
		t.Errorf("Requests[rq-create] = %q, want %s", p.Requests["rq-create"], relID)
	}
	if p.Deployed["staging"] != "2.2.0" || p.Deployed["production"] != "2.1.4" {
		t.Errorf("Deployed = %v", p.Deployed)
	}
}

func createdMsg() *releasev1.ReleaseCreated {
	return created("2.2.0", minor)[0].msg.(*releasev1.ReleaseCreated)
}
