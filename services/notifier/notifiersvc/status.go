package notifiersvc

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/service"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
	"github.com/penguinmails/floe/services/notifier/internal/adapters"
	"github.com/penguinmails/floe/services/notifier/internal/episode"
	"github.com/penguinmails/floe/services/notifier/internal/status"
	"github.com/penguinmails/floe/services/notifier/internal/statuspage"
)

// StatusOptions configure the public status page, served with the inbound
// endpoints on --notifier-http-addr (no address: no status page).
type StatusOptions struct {
	Incidents bool   `env:"FLOE_NOTIFIER_STATUS_INCIDENTS" flag:"notifier-status-incidents" default:"true" usage:"open, update and resolve status page incidents from critical alerts and rollbacks in production-class environments"`
	Name      string `env:"FLOE_NOTIFIER_STATUS_NAME" flag:"notifier-status-name" default:"Floe" usage:"the status page's title"`
	URL       string `env:"FLOE_NOTIFIER_STATUS_URL" flag:"notifier-status-url" usage:"the status page's public address, linked from its JSON (default http://<the bound notifier-http-addr>/status)"`
	TimeZone  string `env:"FLOE_NOTIFIER_STATUS_TIME_ZONE" flag:"notifier-status-time-zone" default:"UTC" usage:"the status page's time zone (IANA name): its uptime days start at its midnight, its JSON shows times in it"`
}

// aggStatusPage is the status page's aggregate, one of the notifier's.
const aggStatusPage = statuspage.Aggregate

// statusPrefix is where the public page is served on the notifier's HTTP address.
const statusPrefix = "/status"

// registerStatus serves the status page: its API (StatusService), on mux
// (served on the bound address addr) its public pages (/status/: HTML, /status/api/v2/*.json: Atlassian
// Statuspage's public API), and, unless disabled, the subscription that
// opens, updates and resolves incidents from the log's events.
func registerStatus(_ context.Context, d service.Deps[Config], mux *http.ServeMux, addr string) error {
	o := d.Config.Status
	loc, err := time.LoadLocation(cmp.Or(o.TimeZone, "UTC"))
	if err != nil {
		return fmt.Errorf("--notifier-status-time-zone %q: %w", o.TimeZone, err)
	}
	cfg := statuspage.Config{Name: cmp.Or(o.Name, "Floe"), URL: cmp.Or(o.URL, defaultStatusURL(addr)), Location: loc}
	a, err := statuspage.New(d.Store, cfg, d.Clock)
	if err != nil {
		return fmt.Errorf("%w (--notifier-status-name, --notifier-status-url)", err)
	}
	srv, err := statuspage.NewServer(a)
	if err != nil {
		return err
	}
	if err := d.Runtime.Register(&notifyv1.StatusService_ServiceDesc, srv, statuspage.Rules()); err != nil {
		return err
	}
	page, err := status.NewHandler(a.View)
	if err != nil {
		return err
	}
	// Public and read-only: GETs of the page and its JSON, no token. A
	// request for /status itself is redirected to /status/ by the mux, so
	// that the page's relative links resolve.
	mux.Handle(statusPrefix+"/", http.StripPrefix(statusPrefix, page))
	if !o.Incidents {
		d.Log.Info().Msg("notifier: --notifier-status-incidents=false: the status page's incidents are opened by hand only")
		return nil
	}
	return subscribeStatus(d, a)
}

// subscribeStatus runs the durable subscription that turns critical alerts
// and rollbacks into incidents (statuspage.Auto), with its own table of
// scopes learned from the log.
func subscribeStatus(d service.Deps[Config], a *statuspage.App) error {
	stores := map[string]eventstore.Store{}
	for _, agg := range []string{episode.AggregateRelease, episode.AggregateDeployment, episode.AggregateGateRun} {
		st, err := eventstore.Open(context.Background(), d.NATS.JS, eventstore.Options{Stream: d.Store.StreamName(), Source: "floe/notifier",
			Aggregates: []string{agg}, Verifier: d.Verifier, Replicas: d.Replicas})
		if err != nil {
			return err
		}
		stores[agg] = st
	}
	scopes := &adapters.Scopes{Table: episode.NewScopeTable(), Stores: stores}
	logErr := func(err error) { d.Log.Warn().Err(err).Msg("notifier status page") }
	auto := &statuspage.Auto{App: a, Mapper: episode.Mapper{ProductionEnvironments: productionEnvironments(d.Config.ProductionEnvironments), Scopes: scopes}, OnError: logErr}
	stream := d.Store.StreamName()
	d.Runtime.Go("notifier-status", func(ctx context.Context) error {
		return eventstore.Subscribe(ctx, d.NATS.JS, stream, eventstore.Subscription{
			Name: "notifier-status", Verifier: d.Verifier, MaxBackoff: 10 * time.Second,
			Handler: func(ctx context.Context, e *eventstore.RecordedEvent) error {
				_ = scopes.Table.Observe(e) // a scope event that does not decode is the mapper's to report
				return auto.OnEvent(ctx, e)
			},
			OnError: func(e *eventstore.RecordedEvent, attempt int, err error) {
				logErr(fmt.Errorf("event %d %s (attempt %d): %w", e.Seq, e.Type, attempt, err))
			},
		})
	})
	return nil
}

// productionEnvironments parses --notifier-production-environments as the
// notifier's routing does (none named: the mapper's defaults).
func productionEnvironments(list string) []string {
	var out []string
	for _, e := range strings.Split(list, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// defaultStatusURL is the page's address on the notifier's HTTP address
// (a wildcard or missing host read as localhost).
func defaultStatusURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://localhost" + statusPrefix
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + statusPrefix
}
