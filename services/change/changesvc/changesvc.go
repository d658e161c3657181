// Package changesvc wires the change service into a process: its gRPC API
// (ChangeService, WindowService, ComplianceService), the view of changes
// and the calendar, and the reactor that implements and validates changes
// as their deployments start and finish. The change binary and `floe dev`
// both start it through Service.
package changesvc

import (
	"context"
	"fmt"
	"strings"
	"time"

	_ "time/tzdata"

	"google.golang.org/grpc" // windows and freezes name IANA zones: the service must know them on any host

	"github.com/penguinmails/floe/libs/envpolicy"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/projection"
	"github.com/penguinmails/floe/libs/service"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	"github.com/penguinmails/floe/services/change/changeview"
	"github.com/penguinmails/floe/services/change/internal/adapters"
	"github.com/penguinmails/floe/services/change/internal/app"
	"github.com/penguinmails/floe/services/change/internal/change"
	"github.com/penguinmails/floe/services/change/internal/ports"
)

// Config is the change service's configuration: its own options and the
// environments file it shares with the release service.
type Config struct {
	Options
	EnvironmentsFile string `env:"FLOE_ENVIRONMENTS_FILE" flag:"environments-file" usage:"YAML file defining environments and their policy, the release service's (default: the built-in set); the environments with change_required are the compliance report's default"`
}

// Options are the change service's own settings.
type Options struct {
	AuditPublicKey string        `env:"FLOE_AUDIT_PUBLIC_KEY" flag:"audit-public-key" usage:"the audit checkpoints' public key (PEM), with which the compliance report verifies the log range it covers (floe dev gives the audit service's; without one a report says its verification was not run)"`
	Validations    string        `env:"FLOE_CHANGE_VALIDATIONS" flag:"change-validations" default:"deployment" usage:"comma-separated checks every deployment of a change must pass before the change is validated (deployment)"`
	ReviewDeadline time.Duration `env:"FLOE_CHANGE_REVIEW_DEADLINE" flag:"change-review-deadline" default:"48h" usage:"how long after an emergency change's implementation starts its post-implementation review is due"`
	OverrideRoles  string        `env:"FLOE_CHANGE_OVERRIDE_ROLES" flag:"change-override-roles" default:"operations,release-manager" usage:"comma-separated roles whose holders may grant freeze overrides (in the environment)"`
	Templates      string        `env:"FLOE_CHANGE_STANDARD_TEMPLATES" flag:"change-standard-templates" usage:"comma-separated pre-approved templates a standard change may be made from (approved on submission); none: every change is reviewed and approved"`
	TickInterval   time.Duration `env:"FLOE_CHANGE_TICK" flag:"change-tick" default:"1s" usage:"how often the change service looks for post-implementation reviews that became overdue"`
}

// Service is the change service: it owns the change requests and the calendar.
var Service = service.Def[Config, struct{}]{
	Name:       "change",
	Aggregates: []string{app.AggChange, "changecal"},
	Register:   register,
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func register(ctx context.Context, d service.Deps[Config]) (struct{}, error) {
	envs, err := envpolicy.Load(d.Config.EnvironmentsFile)
	if err != nil {
		return struct{}{}, err
	}
	pol := change.DefaultPolicy()
	pol.Validations = []string{change.CheckDeployment}
	if v := split(d.Config.Validations); len(v) > 0 {
		pol.Validations = v
	}
	for _, v := range pol.Validations {
		if v != change.CheckDeployment {
			// A check nobody records would leave every change implementing for ever.
			return struct{}{}, fmt.Errorf("--change-validations: %q is not a check the change service records (it records: %s)", v, change.CheckDeployment)
		}
	}
	if d.Config.ReviewDeadline > 0 {
		pol.PIRDeadline = d.Config.ReviewDeadline
	}
	pol.StandardTemplates = split(d.Config.Templates)
	svc, err := app.New(d.Store, d.Snapshots, d.Runtime.Authz, app.Options{
		Policy: pol, OverrideRoles: split(d.Config.OverrideRoles), Environments: envs.Names(), Clock: d.Clock,
	})
	if err != nil {
		return struct{}{}, fmt.Errorf("change policy: %w", err)
	}
	logErr := func(err error) { d.Log.Error().Err(err).Msg("change service background work failed; retrying") }
	opts := projection.Options{Stream: d.Store.StreamName(), Replicas: d.Replicas, OnError: logErr, Verifier: d.Verifier, Signer: d.Signer}
	view, err := changeview.New(ctx, d.NATS.JS, "changes", d.Store, opts)
	if err != nil {
		return struct{}{}, err
	}
	keyFile := d.Config.AuditPublicKey
	var trust *eventstore.TrustStore
	if d.Verifier != nil {
		trust = d.Verifier.Trust()
	}
	compliance := &adapters.Compliance{JS: d.NATS.JS, Stream: d.Store.StreamName(), KeyFile: keyFile, Trust: trust}
	srv, err := ports.NewServer(svc, view, compliance, d.Runtime.Authz, envs.ChangeRequired())
	if err != nil {
		return struct{}{}, err
	}
	rules := ports.Rules() // every method of the three services, given with the first
	for _, desc := range []*grpc.ServiceDesc{&changev1.ChangeService_ServiceDesc, &changev1.WindowService_ServiceDesc, &changev1.ComplianceService_ServiceDesc} {
		if err := d.Runtime.Register(desc, srv, rules); err != nil {
			return struct{}{}, err
		}
		rules = nil
	}
	d.Runtime.AddView(view.Projection())
	d.Runtime.Go("change-deployments", func(ctx context.Context) error {
		return adapters.DeploymentReactor(ctx, d.NATS.JS, d.Store.StreamName(), d.Verifier, svc, view,
			func(err error) { d.Log.Warn().Err(err).Msg("a deployment's reaction was refused by its change") }, logErr)
	})
	tick := d.Config.TickInterval
	if tick <= 0 {
		tick = time.Second
	}
	timer := &adapters.ReviewTimer{View: view, Service: svc, Interval: tick, OnError: logErr}
	d.Runtime.Go("change-reviews", timer.Run)
	return struct{}{}, nil
}
