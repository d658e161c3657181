package deployersvc_test

import (
	"context"
	"testing"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/ident"
	"github.com/penguinmails/floe/libs/ident/identtest"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	"github.com/penguinmails/floe/services/deployer/deployersvc"
)

// startService runs the deployer (local driver, nothing deployed) on an
// embedded JetStream, reached over gRPC as "rm" (release manager: deploy.*).
func startService(t testing.TB) (*testkit.Process, deployv1.DeployServiceClient) {
	t.Helper()
	file := deployersvc.File{App: "app"}
	file.Local.Command = []string{"true"} // never started: nothing is promoted
	p := testkit.Start(t, testkit.Options{
		Users: map[string][]auth.RoleBinding{"rm": testkit.Roles(auth.RoleReleaseManager)},
		Entries: func() []service.Entry {
			return []service.Entry{service.Of(deployersvc.Service, deployersvc.Config{Options: deployersvc.Options{Defaults: &file}})}
		},
	})
	return p, deployv1.NewDeployServiceClient(p.Conn("rm"))
}

// identifierFields are the deployer's fields that name an aggregate
// (deployment_id) or filter by an identifier (ListDeployments), each sent
// by an RPC whose other fields are valid.
func identifierFields(c deployv1.DeployServiceClient) []identtest.Field {
	id := func(rpc string, call func(ctx context.Context, v string) error) identtest.Field {
		return identtest.Field{RPC: rpc, Name: "deployment_id", Rule: ident.Pattern, Call: call}
	}
	filter := func(name string, call func(ctx context.Context, v string) error) identtest.Field {
		return identtest.Field{RPC: "ListDeployments", Name: name, Optional: true, Rule: ident.Pattern, Call: call}
	}
	return []identtest.Field{
		id("GetDeployment", func(ctx context.Context, v string) error {
			_, err := c.GetDeployment(ctx, &deployv1.GetDeploymentRequest{DeploymentId: v})
			return err
		}),
		id("WatchDeployment", func(ctx context.Context, v string) error {
			ctx, cancel := context.WithCancel(ctx)
			defer cancel()
			stream, err := c.WatchDeployment(ctx, &deployv1.WatchDeploymentRequest{DeploymentId: v})
			if err != nil {
				return err
			}
			_, err = stream.Recv()
			return err
		}),
		id("Pause", func(ctx context.Context, v string) error {
			_, err := c.Pause(ctx, &deployv1.PauseRequest{DeploymentId: v, Reason: "x"})
			return err
		}),
		id("Resume", func(ctx context.Context, v string) error {
			_, err := c.Resume(ctx, &deployv1.ResumeRequest{DeploymentId: v})
			return err
		}),
		id("Abort", func(ctx context.Context, v string) error {
			_, err := c.Abort(ctx, &deployv1.AbortRequest{DeploymentId: v, Reason: "x"})
			return err
		}),
		id("Retry", func(ctx context.Context, v string) error {
			_, err := c.Retry(ctx, &deployv1.RetryRequest{DeploymentId: v})
			return err
		}),
		id("Rollback", func(ctx context.Context, v string) error {
			_, err := c.Rollback(ctx, &deployv1.RollbackRequest{DeploymentId: v, Reason: "x"})
			return err
		}),
		filter("release_id", func(ctx context.Context, v string) error {
			_, err := c.ListDeployments(ctx, &deployv1.ListDeploymentsRequest{ReleaseId: v})
			return err
		}),
		filter("environment", func(ctx context.Context, v string) error {
			_, err := c.ListDeployments(ctx, &deployv1.ListDeploymentsRequest{Environment: v})
			return err
		}),
	}
}

// TestIdentifierFieldsRefused: a deployment id or a list filter that is not
// an identifier (NATS wildcards and separators, a space, non-ASCII letters,
// an empty id, 65 characters, a NUL) is InvalidArgument naming the field and
// the rule, and appends nothing.
func TestIdentifierFieldsRefused(t *testing.T) {
	p, c := startService(t)
	identtest.Run(t, identifierFields(c), p.LogPosition)
}

// FuzzDeploymentID sends arbitrary strings as the deployment id of every
// RPC that takes one and as ListDeployments' filters, on one running
// deployer: never a server fault, and whatever is not an identifier is
// InvalidArgument and appends nothing.
func FuzzDeploymentID(f *testing.F) {
	for _, s := range append(identtest.Seeds(), "01JUNKJUNKJUNKJUNKJUNKJUNK-production-1") {
		f.Add(s)
	}
	p, c := startService(f)
	fields := identifierFields(c)
	f.Fuzz(func(t *testing.T, s string) { identtest.Check(t, fields, s, p.LogPosition) })
}
