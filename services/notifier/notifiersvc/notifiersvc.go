// Package notifiersvc wires the notifier into a process: the routing
// configuration and the receivers' channels, the views of groups and
// notifications, the subscriptions that turn events into episodes and
// decisions into deliveries, the delivery loop and the gRPC API. The
// notifier binary and `floe dev` both start it through Service.
package notifiersvc

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/oklog/ulid/v2"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/causal"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/kernel"
	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/projection"
	"github.com/penguinmails/floe/libs/secrets"
	"github.com/penguinmails/floe/libs/secrets/secretsetup"
	"github.com/penguinmails/floe/libs/service"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/internal/adapters"
	"github.com/penguinmails/floe/services/notifier/internal/app"
	"github.com/penguinmails/floe/services/notifier/internal/channel"
	"github.com/penguinmails/floe/services/notifier/internal/channels"
	"github.com/penguinmails/floe/services/notifier/internal/domain"
	"github.com/penguinmails/floe/services/notifier/internal/episode"
	"github.com/penguinmails/floe/services/notifier/internal/inbound"
	"github.com/penguinmails/floe/services/notifier/internal/interact"
	"github.com/penguinmails/floe/services/notifier/internal/ports"
	"github.com/penguinmails/floe/services/notifier/internal/render"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
	"github.com/penguinmails/floe/services/notifier/internal/slackverify"
)

// Options are the notifier's own settings.
type Options struct {
	File                   string        `env:"FLOE_NOTIFIER_CONFIG" flag:"notifier-config" usage:"the notifier's YAML routing configuration: receivers, routes, silences, maintenance windows, templates (services/notifier/README.md); none: nobody is told anything"`
	SecretsEnvironment     string        `env:"FLOE_NOTIFIER_SECRETS_ENV" flag:"notifier-secrets-environment" default:"notifier" usage:"the environment whose secrets the receivers' secret://<name> references name (floe secrets put notifier <name>)"`
	ProductionEnvironments string        `env:"FLOE_NOTIFIER_PRODUCTION_ENVS" flag:"notifier-production-environments" default:"production,prod,dr" usage:"comma-separated environments where a failure is critical (elsewhere a warning)"`
	ExternalURL            string        `env:"FLOE_NOTIFIER_EXTERNAL_URL" flag:"notifier-external-url" usage:"the console's base URL, linked from messages"`
	HTTPAddr               string        `env:"FLOE_NOTIFIER_HTTP_ADDR" flag:"notifier-http-addr" default:"127.0.0.1:7403" usage:"HTTP listen address of the notifier's inbound endpoints (/alertmanager: an Alertmanager webhook receiver); empty serves none (port 0 picks a free port)"`
	TokenFile              string        `env:"FLOE_NOTIFIER_TOKEN_FILE" flag:"notifier-token-file" usage:"file holding the notifier's own token: it approves and rejects releases from Slack on behalf of mapped users with it (the tokens file must give it an acts_for grant); floe dev creates one"`
	ReleaseAddr            string        `env:"FLOE_NOTIFIER_RELEASE_ADDR" flag:"notifier-release-addr" usage:"gRPC address of the release service for decisions from Slack (default: this process's)"`
	Tick                   time.Duration `env:"FLOE_NOTIFIER_TICK" flag:"notifier-tick" default:"1s" usage:"how often the notifier looks for groups and deliveries that are due"`
	MaxAttempts            int           `env:"FLOE_NOTIFIER_MAX_ATTEMPTS" flag:"notifier-max-attempts" default:"8" usage:"delivery attempts before a notification is dead-lettered"`
	// RetryBase and RetryCap bound the backoff between attempts (tests shorten them).
	RetryBase, RetryCap time.Duration
	// Status configures the public status page (status.go).
	Status StatusOptions
}

// Config is the notifier's configuration: its options and the secrets
// provider its receivers' credentials are read from (in floe dev, the flag
// service's).
type Config struct {
	Options
	Secrets secretsetup.Config
}

// Notifier is the running notifier's handle.
type Notifier struct {
	// Receivers are the configured receivers' names.
	Receivers []string
	// HTTPAddr is the bound address of the inbound endpoints ("" when disabled).
	HTTPAddr string
}

// Service is the notifier: it owns the notification groups and notifications.
var Service = service.Def[Config, *Notifier]{
	Name:       "notifier",
	Aggregates: []string{domain.AggGroup, domain.AggNotification, inbound.AggExternalAlert, inbound.AggSlackInbox, aggStatusPage, domain.AggSilence},
	// It reads its receivers' credentials from the secrets store.
	Publishes: []string{natsx.SecretsAccess},
	Register:  register,
}

// Load reads and checks the routing configuration; nil for path "" (no
// configuration: the notifier tells no one).
func Load(path string) (*routing.Config, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("notifier configuration: %w", err)
	}
	cfg, err := routing.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("notifier configuration %s: %w", path, err)
	}
	return cfg, nil
}

func register(ctx context.Context, d service.Deps[Config]) (*Notifier, error) {
	cfg, err := Load(d.Config.File)
	if err != nil {
		return nil, err
	}
	idle := cfg == nil
	if idle {
		// Its API answers (nothing was told); nothing is routed.
		d.Log.Info().Msg("notifier: no --notifier-config, so nobody is told anything")
		cfg = &routing.Config{}
	}
	provider, _, err := secretsetup.Open(ctx, d.Config.Secrets, secretsetup.Host{
		JS: d.NATS.JS, Replicas: d.Replicas, Clock: d.Clock, DataDir: d.DataDir, Embedded: d.Embedded})
	if err != nil {
		return nil, fmt.Errorf("secrets: %w", err)
	}
	resolve := resolver(provider, d.Config.SecretsEnvironment)
	chans, templates, interactive := map[string]channel.Channel{}, map[string]*render.Set{}, map[string]*interact.Receiver{}
	seen, err := slackSeen(ctx, d)
	if err != nil {
		return nil, err
	}
	var problems []error
	for _, r := range cfg.Receivers {
		if _, err := channels.Build(ctx, r, resolve); err != nil {
			var ue *channels.UnresolvedError
			if !errors.As(err, &ue) {
				problems = append(problems, err)
				continue
			}
			d.Log.Warn().Err(err).Msg("a receiver's credentials do not resolve yet: its messages are retried until they do")
		}
		chans[r.Name] = channels.NewLazy(r, resolve)
		set, err := render.FromSettings("receivers."+r.Name+".settings.templates", r.Settings)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		templates[r.Name] = set
		if r.Kind == routing.KindSlack && r.Settings["signing_secret"] != nil {
			rc, err := slackInteractivity(r, resolve, d.Clock, seen)
			if err != nil {
				problems = append(problems, err)
				continue
			}
			interactive[r.Name] = rc
		}
	}
	if err := errors.Join(problems...); err != nil {
		return nil, fmt.Errorf("notifier receivers: %w", err)
	}
	logErr := func(err error) { d.Log.Error().Err(err).Msg("notifier background work failed; retrying") }
	opts := projection.Options{Stream: d.Store.StreamName(), Replicas: d.Replicas, OnError: logErr, Verifier: d.Verifier, Signer: d.Signer}
	policy := domain.Policy{MaxAttempts: uint32(max(d.Config.MaxAttempts, 1)), Base: d.Config.RetryBase, Cap: d.Config.RetryCap}
	groups, err := adapters.NewGroups(ctx, d.NATS.JS, cfg, opts)
	if err != nil {
		return nil, err
	}
	notes, err := adapters.NewNotifications(ctx, d.NATS.JS, policy, opts)
	if err != nil {
		return nil, err
	}
	silences, err := adapters.NewSilences(ctx, d.NATS.JS, opts)
	if err != nil {
		return nil, err
	}
	// Other services' aggregates are read (verified) for scopes, never written.
	stores := map[string]eventstore.Store{}
	for _, agg := range []string{episode.AggregateRelease, episode.AggregateDeployment, episode.AggregateGateRun} {
		st, err := eventstore.Open(ctx, d.NATS.JS, eventstore.Options{Stream: d.Store.StreamName(), Source: "floe/notifier", Aggregates: []string{agg}, Verifier: d.Verifier, Replicas: d.Replicas})
		if err != nil {
			return nil, err
		}
		stores[agg] = st
	}
	scopes := &adapters.Scopes{Table: episode.NewScopeTable(), Stores: stores}
	var prod []string
	for _, e := range strings.Split(d.Config.ProductionEnvironments, ",") {
		if e = strings.TrimSpace(e); e != "" {
			prod = append(prod, e)
		}
	}
	ropts := render.Options{ExternalURL: d.Config.ExternalURL}
	clock := d.Clock
	if clock == nil {
		clock = time.Now
	}
	host, _ := os.Hostname()
	a, err := app.New(app.Options{
		Store: d.Store, Snapshots: d.Snapshots, Routing: cfg, Channels: chans, Templates: templates, Render: ropts,
		Mapper: episode.Mapper{ProductionEnvironments: prod, Scopes: scopes}, Policy: policy,
		Interactive: func() map[string]bool {
			out := map[string]bool{}
			for name := range interactive {
				out[name] = true
			}
			return out
		}(),
		Instance: fmt.Sprintf("%s-%d-%s", host, os.Getpid(), strings.ToLower(ulid.Make().String()[20:])), Now: d.Clock, Threads: notes,
		Silences: func() []routing.Silence { return silences.Routing(clock()) },
	})
	if err != nil {
		return nil, err
	}
	if err := d.Runtime.Register(&notifyv1.NotifyService_ServiceDesc, ports.NewServer(a, notes, silences, templates, ropts), ports.Rules()); err != nil {
		return nil, err
	}
	d.Runtime.AddView(groups.Projection())
	d.Runtime.AddView(notes.Projection())
	d.Runtime.AddView(silences.Projection())
	out := &Notifier{}
	for _, r := range cfg.Receivers {
		out.Receivers = append(out.Receivers, r.Name)
	}
	if d.Config.HTTPAddr != "" {
		alerts, err := kernel.New(d.Store, inbound.ExternalAlertKind, kernel.Options{Clock: d.Clock})
		if err != nil {
			return nil, err
		}
		mux := http.NewServeMux()
		mux.Handle("/alertmanager", &inbound.Alertmanager{Alerts: alerts, Authn: d.Runtime.Authenticator(), Authz: d.Runtime.Authz, OnError: logErr})
		if len(interactive) > 0 {
			inbox, err := kernel.New(d.Store, inbound.SlackInboxKind, kernel.Options{Clock: d.Clock})
			if err != nil {
				return nil, err
			}
			releaseAddr := func() string {
				if d.Config.ReleaseAddr != "" {
					return d.Config.ReleaseAddr
				}
				return d.Runtime.GRPCAddr()
			}
			mux.Handle("/slack/interactions/", &interact.Handler{
				Receivers: interactive,
				Decider: &interact.ReleaseDecider{Addr: releaseAddr, TokenFile: d.Config.TokenFile,
					DialOptions: []grpc.DialOption{grpc.WithTransportCredentials(d.Runtime.PeerCredentials())}},
				Refused: func(ctx context.Context, ev *notifyv1.InteractionRefused) error {
					_, err := inbox.Execute(causal.System(ctx, "notifier", "", ""), kernel.Command[*inbound.ExternalAlert]{
						ID:     ev.GetReceiver(),
						Decide: func(*inbound.ExternalAlert) ([]proto.Message, error) { return []proto.Message{ev}, nil },
					})
					return err
				},
				OnError: logErr,
			})
		}
		// Listen first: the status page's default URL names the bound
		// address (a port picked for port 0). Serving starts when the runtime runs.
		if out.HTTPAddr, err = service.ServeHTTP(d.Runtime, "notifier-http", d.Config.HTTPAddr, mux); err != nil {
			return nil, err
		}
		if err := registerStatus(ctx, d, mux, out.HTTPAddr); err != nil {
			return nil, err
		}
	}
	if idle {
		return out, nil
	}
	stream := d.Store.StreamName()
	d.Runtime.Go("notifier-events", func(ctx context.Context) error {
		return adapters.Events(ctx, d.NATS.JS, stream, d.Verifier, a, scopes, logErr)
	})
	d.Runtime.Go("notifier-plans", func(ctx context.Context) error {
		return adapters.Plans(ctx, d.NATS.JS, stream, d.Verifier, a, logErr)
	})
	loop := &adapters.Loop{App: a, Groups: groups, Notifications: notes, Now: d.Clock, Interval: d.Config.Tick, OnError: logErr}
	d.Runtime.Go("notifier-loop", loop.Run)
	return out, nil
}

// resolver reads receivers' credentials: secret://<name> from the secrets
// of environment env, vault://<path>#<key> from Vault.
func resolver(p secrets.Provider, env string) channels.Resolver {
	return func(ctx context.Context, ref string) (secrets.Value, error) {
		r, err := secrets.ParseRef(ref)
		if err != nil {
			return secrets.Value{}, err
		}
		if r.Scheme == secrets.SchemeVault {
			fr, ok := p.(secrets.FieldReader)
			if !ok {
				return secrets.Value{}, errors.New("vault:// references need the vault secrets provider (--secrets-provider vault)")
			}
			return fr.ReadField(ctx, r.Path, r.Key)
		}
		return p.Get(ctx, env+"/"+r.Name, r.Version)
	}
}

// slackInteractivity is a Slack receiver's interactivity: its app's signing
// secret (read at the first request) and the users it maps (Slack user id →
// Floe principal id).
func slackInteractivity(r routing.Receiver, resolve channels.Resolver, now func() time.Time, shared func([32]byte, time.Time) error) (*interact.Receiver, error) {
	at := "receivers." + r.Name + ".settings."
	ref, ok := r.Settings["signing_secret"].(string)
	if !ok {
		return nil, errs.Invalid(at+"signing_secret", "must be a secret reference")
	}
	users := map[string]string{}
	if raw, ok := r.Settings["users"].(map[string]any); ok {
		for slackID, v := range raw {
			p, ok := v.(string)
			if !ok || p == "" {
				return nil, errs.Invalid(at+"users."+slackID, "must be a Floe principal id")
			}
			users[slackID] = p
		}
	} else if r.Settings["users"] != nil {
		return nil, errs.Invalid(at+"users", "must map Slack user ids to Floe principal ids")
	}
	return interact.NewReceiver(r.Name, func(ctx context.Context) (secrets.Value, error) { return resolve(ctx, ref) }, users, now, shared), nil
}

// slackSeen records accepted Slack request signatures in a key-value bucket
// whose entries expire after Slack's tolerance (and a margin): a request
// replayed to another replica is refused there too.
func slackSeen(ctx context.Context, d service.Deps[Config]) (func([32]byte, time.Time) error, error) {
	kv, err := d.NATS.JS.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: "notifier_slack_seen", Description: "Slack request signatures accepted (replays are refused)",
		TTL: 2 * slackverify.DefaultTolerance, Replicas: d.Replicas, Storage: jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("notifier: the Slack replay bucket: %w", err)
	}
	return func(sig [32]byte, _ time.Time) error {
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := kv.Create(cctx, hex.EncodeToString(sig[:]), []byte{1})
		if errors.Is(err, jetstream.ErrKeyExists) {
			return slackverify.ErrReplay
		}
		return err
	}, nil
}
