package releasesvc_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/change/changesvc"
	"github.com/penguinmails/floe/services/release/releasesvc"
)

// testUsers are the principals of the suite.
var testUsers = map[string][]auth.RoleBinding{
	"alice":     testkit.Roles(auth.RoleDeveloper), // author of releases
	"bob":       testkit.Roles(auth.RoleReleaseManager),
	"carol":     testkit.Roles(auth.RoleQA),
	"dave":      testkit.Roles(auth.RoleOperations),
	"erin":      testkit.Roles(auth.RoleSecurity),
	"frank":     testkit.Roles(auth.RoleProduct),
	"grace":     testkit.Roles(auth.RoleSupport),
	"ops1":      testkit.Roles(auth.RoleOperations),
	"ops2":      testkit.Roles(auth.RoleOperations),
	"ops3":      testkit.Roles(auth.RoleOperations),
	"ops4":      testkit.Roles(auth.RoleOperations),
	"ops5":      testkit.Roles(auth.RoleOperations),
	"ops6":      testkit.Roles(auth.RoleOperations),
	"ops7":      testkit.Roles(auth.RoleOperations),
	"ops8":      testkit.Roles(auth.RoleOperations),
	"stagingqa": {{Role: auth.RoleQA, Environments: []string{"staging"}}},
	"notifier":  nil, // a service principal: no roles; grantDelegation gives it acts_for
}

// env is the release service running on a real embedded JetStream.
type env struct {
	*testkit.Process
	srv *server.Server
}

func startEnv(t *testing.T) *env { return startEnvB(t) }

// startEnvB is startEnv for tests and benchmarks.
func startEnvB(t testing.TB) *env {
	t.Helper()
	p := testkit.Start(t, testkit.Options{
		Users: testUsers,
		Entries: func() []service.Entry {
			return []service.Entry{service.Of(releasesvc.Service, releasesvc.Config{}), service.Of(changesvc.Service, changesvc.Config{Options: changesvc.Options{Validations: "deployment", ReviewDeadline: 48 * time.Hour}})}
		},
		Writers: map[string][]string{"deployer": {"deployment"}}, // the tests play the deployer
	})
	return &env{Process: p, srv: p.NATS}
}

// restart stops the service process and starts a new one on the same NATS data.
func (e *env) restart() { e.Restart() }

// client returns a ReleaseService client authenticated as user.
func (e *env) client(user string) releasev1.ReleaseServiceClient {
	return releasev1.NewReleaseServiceClient(e.Conn(user))
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
