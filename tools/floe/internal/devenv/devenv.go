// Package devenv is `floe dev`: the embedded NATS server and every Floe
// service in one process, on one data directory, with generated development
// tokens. It restarts cleanly on the same data.
package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/envpolicy"
	"github.com/penguinmails/floe/libs/eventstore/audit"
	"github.com/penguinmails/floe/libs/natsx"
	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/libs/service"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/audit/auditsvc"
	"github.com/penguinmails/floe/services/change/changesvc"
	"github.com/penguinmails/floe/services/console/consolesvc"
	"github.com/penguinmails/floe/services/deployer/deployersvc"
	"github.com/penguinmails/floe/services/flag/flagsvc"
	"github.com/penguinmails/floe/services/gate/gatesvc"
	"github.com/penguinmails/floe/services/monitor/monitorsvc"
	"github.com/penguinmails/floe/services/monitor/rules/lint"
	"github.com/penguinmails/floe/services/notifier/notifiersvc"
	"github.com/penguinmails/floe/services/release/releasesvc"
	"github.com/penguinmails/floe/tools/floe/internal/clientconf"
)

// Files floe dev keeps in the data directory.
const (
	// TokensFileName is the server-side tokens file (hashes only).
	TokensFileName = "tokens.yaml"
	// KeysDirName holds each service's event signing key and the trust store (trust.json).
	KeysDirName = "keys"
	// NATSIdentitiesDirName holds the nkey seeds of the host and the services.
	NATSIdentitiesDirName = "nats-identities"
	// NATSReaderFileName is the read-only NATS identity for event subscribers.
	NATSReaderFileName = "nats-reader.nk"
)

// Users are the development principals created on first start: one per role
// of the access matrix, so separation of duties can be tried out locally.
var Users = []struct {
	ID, Name string
	Role     auth.Role
}{
	{"admin", "Dev Admin", auth.RoleAdmin},
	{"alice", "Alice (developer)", auth.RoleDeveloper},
	{"bob", "Bob (release manager)", auth.RoleReleaseManager},
	{"carol", "Carol (QA)", auth.RoleQA},
	{"dave", "Dave (operations)", auth.RoleOperations},
	{"erin", "Erin (security)", auth.RoleSecurity},
	{"frank", "Frank (product)", auth.RoleProduct},
	{"grace", "Grace (support)", auth.RoleSupport},
}

// Config is floe dev's configuration: the shared base plus the audit trail's signing side.
type Config struct {
	runtime.Base
	// Release configures the release service.
	Release releasesvc.Config
	// Deployer configures the deployer (its file overrides DeployerDefaults).
	// Its secrets provider is the flag service's (Flag.Secrets): one flag set
	// binds the --secrets-* flags once, for both.
	Deployer deployersvc.Options
	// Monitor configures the monitor (its file overrides MonitorDefaults).
	Monitor monitorsvc.Config
	// Audit configures the audit service (checkpoint key and interval).
	Audit auditsvc.Config
	// Gate configures the gate service (definitions file, report size, deadline tick).
	Gate gatesvc.Config
	// Flag configures the flag service (the scheduler's tick, the OFREP
	// address, secrets); its environments file is the release service's.
	Flag flagsvc.Options
	// Notifier configures the notifier (its routing file); its secrets
	// provider is the flag service's.
	Notifier notifiersvc.Options
	// Change configures the change service; its environments file is the
	// release service's, its audit public key the audit service's.
	Change changesvc.Options
	// Console configures the admin console (it offers the dev users at sign-in).
	Console consolesvc.Config
}

// Options configure the development server.
type Options struct {
	Config  Config
	Version string
	Out     io.Writer // where addresses and first-start tokens are printed
	// Log, when set, receives the services' logs (default: stderr).
	Log io.Writer
	// Ready, when set, is called once everything listens, with the
	// credentials just written (addresses and tokens).
	Ready func(*clientconf.Credentials)
}

// Run starts everything and blocks until ctx is cancelled, then shuts down.
func Run(ctx context.Context, opts Options) error {
	cfg := opts.Config.Base
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	if cfg.NATS.DataDir == "" {
		return errors.New("floe dev: --data-dir is required")
	}
	if err := checkAddrs(opts.Config.addrs()); err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.NATS.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	creds, created, err := ensureTokens(cfg.NATS.DataDir)
	if err != nil {
		return fmt.Errorf("dev tokens: %w", err)
	}
	if cfg.Auth.TokensFile == "" {
		cfg.Auth.TokensFile = filepath.Join(cfg.NATS.DataDir, TokensFileName)
	}

	ropts := runtime.Options{Service: "floe-dev", Version: opts.Version, Config: cfg}
	if opts.Log != nil {
		l := runtime.NewLogger(opts.Log, "floe-dev", cfg.Environment, opts.Version, cfg.LogLevel, cfg.LogFormat)
		ropts.Logger = &l
	}
	rt, err := runtime.New(ctx, ropts)
	if err != nil {
		return err
	}
	// The services, from one list: each is a service.Def with its configuration.
	deployerDefaults, monitorDefaults := DeployerDefaults(), MonitorDefaults()
	cfgs := opts.Config
	cfgs.Deployer.Defaults, cfgs.Monitor.Defaults = &deployerDefaults, &monitorDefaults
	if cfgs.Notifier.TokenFile == "" {
		// The notifier decides for Slack users with its own token (acts_for in tokens.yaml).
		if cfgs.Notifier.TokenFile, err = writeNotifierToken(cfg.NATS.DataDir, creds); err != nil {
			return err
		}
	}
	auditPub := ""
	if cfgs.Change.AuditPublicKey == "" {
		// The compliance report verifies with the audit service's key, written
		// here once the audit service has it (the report reads it when asked).
		auditPub = filepath.Join(cfg.NATS.DataDir, AuditPublicKeyFileName)
		cfgs.Change.AuditPublicKey = auditPub
	}
	for _, u := range creds.Users {
		if len(u.Roles) > 0 { // the notifier's own token holds no role: not a person to sign in as
			cfgs.Console.DevUsers = append(cfgs.Console.DevUsers, consolesvc.DevUser{ID: u.ID, Name: u.Name + " — " + strings.Join(u.Roles, ", "), Token: u.Token})
		}
	}
	// The console is a client of the others' APIs (not yet in the
	// production topology, deploy/): floe dev runs it beside them.
	entries := append(Services(cfgs), service.Of(consolesvc.Service, cfgs.Console))

	ncfg := natsx.Config{
		URL: cfg.NATS.URL, CredsFile: cfg.NATS.Creds, DataDir: filepath.Join(cfg.NATS.DataDir, "nats"),
		Listen: cfg.NATS.Listen, SyncAlways: cfg.NATS.SyncAlways, Name: "floe-dev",
	}
	// The embedded NATS accepts no anonymous connection: the host, each
	// service and event subscribers have their own nkey and permissions.
	var nauth *natsx.DevAuth
	if cfg.NATS.URL == "" {
		if nauth, err = natsx.LoadOrCreateDevAuth(filepath.Join(cfg.NATS.DataDir, NATSIdentitiesDirName), filepath.Join(cfg.NATS.DataDir, NATSReaderFileName), service.Grants(entries...)); err != nil {
			return fmt.Errorf("nats identities: %w", err)
		}
		ncfg.Users, ncfg.Identity = nauth.Users, nauth.Host
	}
	conn, err := natsx.Connect(ctx, ncfg)
	if err != nil {
		return fmt.Errorf("nats: %w", err)
	}
	rt.OnShutdown("nats", func(context.Context) error { return conn.Close() })
	rt.AddReadiness("nats", func(context.Context) error {
		if !conn.NC.IsConnected() {
			return fmt.Errorf("nats connection is %s", conn.NC.Status())
		}
		return nil
	})

	keys, err := service.DevKeys(filepath.Join(cfg.NATS.DataDir, KeysDirName), service.Writers(entries...))
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("signing keys: %w", err)
	}
	host := service.Host{Runtime: rt, NATS: conn, DataDir: cfg.NATS.DataDir, Keys: keys, Embedded: nauth != nil, Replicas: cfg.NATS.StreamReplicas()}
	if nauth != nil {
		host.Dial = func(ctx context.Context, name string) (*natsx.Conn, error) {
			return conn.Dial(ctx, nauth.Services[name], "floe-"+name)
		}
	}
	handles, err := service.Start(ctx, host, entries...)
	if err != nil {
		_ = conn.Close()
		return err
	}
	deployer, _ := handles[deployersvc.Service.Name].(*deployersvc.Deployer)

	au, _ := handles[auditsvc.Service.Name].(*auditsvc.Audit)
	if auditPub != "" {
		if err := audit.WritePublicKey(auditPub, au.PublicKey()); err != nil {
			_ = conn.Close()
			return fmt.Errorf("write the audit public key for the compliance report: %w", err)
		}
	}
	fl, _ := handles[flagsvc.Service.Name].(*flagsvc.Flag)

	if err := rt.Listen(); err != nil {
		_ = conn.Close()
		return err
	}
	creds.Server, creds.Admin, creds.NATS = rt.GRPCAddr(), rt.AdminAddr(), conn.ClientURL()
	if fl != nil {
		creds.OFREP = fl.OFREPAddr
	}
	if nt, _ := handles[notifiersvc.Service.Name].(*notifiersvc.Notifier); nt != nil {
		creds.Notifier = nt.HTTPAddr
	}
	if co, _ := handles[consolesvc.Service.Name].(*consolesvc.Console); co != nil {
		creds.Console = co.Addr
	}
	if nauth != nil {
		creds.NATSReaderNKey = nauth.ReaderFile
	}
	creds.Proxies = map[string]string{}
	for _, env := range []string{"development", "staging", "production"} {
		if addr := deployer.ProxyAddr(env); addr != "" {
			creds.Proxies[env] = addr
		}
	}
	credsPath := filepath.Join(cfg.NATS.DataDir, clientconf.FileName)
	if err := clientconf.Write(credsPath, creds); err != nil {
		_ = conn.Close()
		return fmt.Errorf("write %s: %w", credsPath, err)
	}
	auditLine := fmt.Sprintf("%s.pub (checkpoint public key, id %s)", au.KeyPath, audit.KeyID(au.PublicKey()))
	printBanner(out, creds, credsPath, cfg, created, auditLine)
	if opts.Ready != nil {
		opts.Ready(creds)
	}
	return rt.Run(ctx)
}

// Services are floe dev's event-sourced services — the production topology's (deploy/) — in start
// order, each with its configuration; Run adds the admin console beside them.
func Services(c Config) []service.Entry {
	return []service.Entry{
		service.Of(releasesvc.Service, c.Release),
		service.Of(gatesvc.Service, c.Gate),
		service.Of(flagsvc.Service, flagsvc.Config{Options: c.Flag, EnvironmentsFile: c.Release.EnvironmentsFile}),
		service.Of(deployersvc.Service, deployersvc.Config{Options: c.Deployer, Secrets: c.Flag.Secrets}),
		service.Of(monitorsvc.Service, c.Monitor),
		service.Of(auditsvc.Service, c.Audit),
		service.Of(notifiersvc.Service, notifiersvc.Config{Options: c.Notifier, Secrets: c.Flag.Secrets}),
		service.Of(changesvc.Service, changesvc.Config{Options: c.Change, EnvironmentsFile: c.Release.EnvironmentsFile}),
	}
}

// DeployerDefaults is floe dev's deployer: the demo app (run as `floe
// demoapp`) on the local driver, one weighted proxy per environment, a
// canary short enough to watch, and a feature-flag strategy that ramps the
// release's product flag (the flag keyed by the product's name, in the
// environment) 10 → 50 → 100 % at 20 s intervals, then bakes 20 s.
func DeployerDefaults() deployersvc.File {
	exe, err := os.Executable()
	if err != nil {
		exe = "floe"
	}
	var f deployersvc.File
	f.App, f.Driver = "demoapp", "local"
	f.Local.Command = []string{exe, "demoapp", "--listen", "127.0.0.1:{{.Port}}", "--version", "{{.Version}}"}
	f.Local.Proxies = map[string]string{"development": "127.0.0.1:7500", "staging": "127.0.0.1:7501", "production": "127.0.0.1:7502"}
	canary := deployersvc.DefaultStrategyConfig()
	canary.Canary.Steps = []string{"setWeight 20", "pause 20s", "analysis 20s", "setWeight 50", "pause 20s", "analysis 20s"}
	canary.BlueGreen.ScaleDownDelay = 20 * time.Second // as long as a rollback trigger needs (TestDefaultsAreCoherent)
	canary.FeatureFlag.Interval, canary.FeatureFlag.Bake = 20*time.Second, 20*time.Second
	f.Strategies = map[string]deployersvc.StrategyConfig{"development": canary, "staging": canary, "production": canary}
	// Analysis steps take the monitor's verdict. Versions tagged -faulty fail a
	// fifth of their requests, -late do so once they have run a minute
	// (through a canary, into the bake), -slow answer in about 6 s (for the
	// demo, and to try the rollback triggers by hand).
	f.Analysis = "monitor"
	f.VersionPatterns = []deployersvc.VersionPattern{
		{Match: "*-faulty*", Config: map[string]string{"DEMOAPP_ERROR_RATE": "0.2"}},
		{Match: "*-late*", Config: map[string]string{"DEMOAPP_ERROR_RATE": "0.2", "DEMOAPP_FAIL_AFTER": "60s"}},
		{Match: "*-slow*", Config: map[string]string{"DEMOAPP_LATENCY": "6s"}},
	}
	// The coherence checks at start assume floe dev's monitor.
	m := MonitorDefaults()
	f.Coherence.Monitor = &lint.MonitorSettings{Bake: m.Bake, BakeAuto: []string{"production"}, Interval: m.Interval}
	return f
}

// MonitorDefaults is floe dev's monitor: the embedded metric store fed from
// this process's own registry every 5 s (which holds the deployer's proxy
// metrics), the guide's two rollback triggers with their named metrics
// measured at the proxies and durations short enough to watch (20 s instead
// of 300 s and 180 s), and one alert rule.
func MonitorDefaults() monitorsvc.File {
	var f monitorsvc.File
	f.Source, f.Interval = "embedded", 5*time.Second
	f.Embedded.Targets = []monitorsvc.Target{{URL: "self"}}
	set := monitorsvc.DefaultRules()
	set.Metrics = map[string]string{
		"error_rate":        `sum(rate(floe_proxy_requests_total{code=~"5.."}[30s])) / sum(rate(floe_proxy_requests_total[30s]))`,
		"response_time_p95": `histogram_quantile(0.95, sum by (le) (rate(floe_proxy_request_duration_seconds_bucket[30s])))`,
	}
	for i := range set.Triggers {
		set.Triggers[i].Duration = 20 * time.Second
	}
	// The guide's two alert rules, over the proxies' metrics, held 30 s.
	for i := range set.AlertRules {
		r := &set.AlertRules[i]
		r.For = 30 * time.Second
		switch r.Name {
		case "high_error_rate":
			r.Description = "More than 5% of a version's requests fail (the guide's High Error Rate, per environment and version)"
			r.Condition = `sum by (environment, version) (rate(floe_proxy_requests_total{code=~"5.."}[1m])) / sum by (environment, version) (rate(floe_proxy_requests_total[1m])) > 0.05`
		case "slow_response_time":
			r.Description = "A version's 95th percentile response time is above 2 s (the guide's Slow Response Time, per environment and version)"
			r.Condition = `histogram_quantile(0.95, sum by (environment, version, le) (rate(floe_proxy_request_duration_seconds_bucket[1m]))) > 2`
		}
	}
	f.RuleSet = &set
	return f
}

// AuditPublicKeyFileName is the audit checkpoints' public key in the data
// directory, written at every start for the change service's compliance
// report (whatever --audit-key names).
const AuditPublicKeyFileName = "audit-checkpoint-key.pub"

// NotifierUser is floe dev's service principal for the notifier. It holds
// no role: it approves and rejects on behalf of the dev users who hold an
// approver role of the built-in environments (an acts_for grant on
// ReleaseService Approve and Reject), for Slack's buttons. Its token is in
// the dev credentials as the user "notifier".
const NotifierUser = "notifier"

// NotifierTokenFileName holds the notifier's token in the data directory.
const NotifierTokenFileName = "notifier.token"

// writeNotifierToken writes the notifier's token (from the dev credentials)
// to its file, 0600, and returns the path ("" when there is none).
func writeNotifierToken(dataDir string, creds *clientconf.Credentials) (string, error) {
	for _, u := range creds.Users {
		if u.ID == NotifierUser && u.Token != "" {
			p := filepath.Join(dataDir, NotifierTokenFileName)
			if err := os.WriteFile(p, []byte(u.Token+"\n"), 0o600); err != nil {
				return "", fmt.Errorf("write the notifier's token: %w", err)
			}
			return p, nil
		}
	}
	return "", nil
}

// ensureTokens returns the dev credentials, creating tokens and the server's
// hashed tokens file on first start and reusing them afterwards. A data
// directory from before the notifier's principal gets it added (and a
// notifier whose token the credentials lost gets a new one); its other
// principals and tokens are kept.
func ensureTokens(dataDir string) (*clientconf.Credentials, bool, error) {
	credsPath := filepath.Join(dataDir, clientconf.FileName)
	tokensPath := filepath.Join(dataDir, TokensFileName)
	creds, err := clientconf.Read(credsPath)
	if err == nil {
		if _, err := os.Stat(tokensPath); err == nil {
			if err := ensureNotifier(tokensPath, credsPath, creds); err != nil {
				return nil, false, err
			}
			return creds, false, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	creds = &clientconf.Credentials{DefaultUser: "admin"}
	tf := &auth.TokensFile{}
	for _, u := range Users {
		tok, err := auth.GenerateToken()
		if err != nil {
			return nil, false, err
		}
		creds.Users = append(creds.Users, clientconf.User{ID: u.ID, Name: u.Name, Roles: []string{string(u.Role)}, Token: tok})
		tf.Principals = append(tf.Principals, auth.TokenEntry{ID: u.ID, Name: u.Name, TokenSHA256: auth.HashToken(tok), Roles: []auth.RoleBinding{{Role: u.Role}}})
	}
	if err := addNotifier(tf, creds); err != nil {
		return nil, false, err
	}
	body, err := tf.Marshal()
	if err != nil {
		return nil, false, err
	}
	if err := os.WriteFile(tokensPath, body, 0o600); err != nil {
		return nil, false, err
	}
	return creds, true, nil
}

// ensureNotifier adds the notifier to an existing data directory when its
// tokens file or its credentials lack it, writing both at once so that the
// token and its hash never part.
func ensureNotifier(tokensPath, credsPath string, creds *clientconf.Credentials) error {
	data, err := os.ReadFile(tokensPath)
	if err != nil {
		return err
	}
	tf, err := auth.ParseTokensFile(data)
	if err != nil {
		return fmt.Errorf("%s: %w", tokensPath, err)
	}
	_, credsErr := creds.Lookup(NotifierUser)
	if slices.ContainsFunc(tf.Principals, func(e auth.TokenEntry) bool { return e.ID == NotifierUser }) && credsErr == nil {
		return nil // there already, grant as it is (it may have been edited)
	}
	if err := addNotifier(tf, creds); err != nil {
		return err
	}
	body, err := tf.Marshal()
	if err != nil {
		return err
	}
	tmp := tokensPath + ".tmp"
	if err := os.WriteFile(tmp, body, 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, tokensPath); err != nil {
		return err
	}
	return clientconf.Write(credsPath, creds)
}

// addNotifier puts the notifier, with a new token, into tf and creds
// (replacing an earlier one): no roles, and an acts_for grant on Approve and
// Reject for every principal of tf that holds an approver role of the
// built-in environments.
func addNotifier(tf *auth.TokensFile, creds *clientconf.Credentials) error {
	approver := map[auth.Role]bool{}
	for _, env := range envpolicy.DefaultEnvironments().All() {
		for _, r := range env.ApproverRoles {
			approver[auth.Role(r)] = true
		}
	}
	var targets []string
	for _, p := range tf.Principals {
		if p.ID != NotifierUser && slices.ContainsFunc(p.Roles, func(b auth.RoleBinding) bool { return approver[b.Role] }) {
			targets = append(targets, p.ID)
		}
	}
	tok, err := auth.GenerateToken()
	if err != nil {
		return err
	}
	const name = "Notifier (Slack approvals)"
	entry := auth.TokenEntry{ID: NotifierUser, Name: name, TokenSHA256: auth.HashToken(tok), Roles: []auth.RoleBinding{}}
	if len(targets) > 0 { // a grant names at least one principal
		entry.ActsFor = &auth.ActsFor{
			Methods:    []string{releasev1.ReleaseService_Approve_FullMethodName, releasev1.ReleaseService_Reject_FullMethodName},
			Principals: targets,
		}
	}
	tf.Principals = slices.DeleteFunc(tf.Principals, func(e auth.TokenEntry) bool { return e.ID == NotifierUser })
	tf.Principals = append(tf.Principals, entry)
	creds.Users = slices.DeleteFunc(creds.Users, func(u clientconf.User) bool { return u.ID == NotifierUser })
	creds.Users = append(creds.Users, clientconf.User{ID: NotifierUser, Name: name, Token: tok})
	return nil
}

func printBanner(out io.Writer, c *clientconf.Credentials, credsPath string, cfg runtime.Base, created bool, auditLine string) {
	fmt.Fprintf(out, "floe dev is running (data in %s)\n", cfg.NATS.DataDir)
	fmt.Fprintf(out, "  gRPC       %s   (grpcurl -plaintext %s list)\n", c.Server, c.Server)
	fmt.Fprintf(out, "  admin HTTP http://%s   (/metrics /healthz /readyz)\n", c.Admin)
	if c.Notifier != "" {
		fmt.Fprintf(out, "  notifier   http://%s/status   (the public status page; /alertmanager takes Alertmanager's webhook; routes and receivers: --notifier-config)\n", c.Notifier)
	}
	if c.Console != "" {
		fmt.Fprintf(out, "  console    http://%s   (the admin console: sign in as a dev user)\n", c.Console)
	}
	if c.OFREP != "" {
		fmt.Fprintf(out, "  OFREP      http://%s/environments/<env>   (OpenFeature remote evaluation; flagd in-process sync on the gRPC port, selector \"<env>;token=<token>\")\n", c.OFREP)
	}
	if c.NATS != "" {
		fmt.Fprintf(out, "  NATS       %s   (events on floe.evt.>)\n", c.NATS)
	}
	if c.NATSReaderNKey != "" {
		fmt.Fprintf(out, "  NATS read  %s   (read-only identity for subscribers: nats --server %s --nkey %s sub 'floe.evt.>')\n", c.NATSReaderNKey, c.NATS, c.NATSReaderNKey)
	}
	fmt.Fprintf(out, "  tokens     %s (server side, SHA-256 hashes)\n", filepath.Join(cfg.NATS.DataDir, TokensFileName))
	fmt.Fprintf(out, "  dev users  %s (plain tokens, read by the floe CLI)\n", credsPath)
	fmt.Fprintf(out, "  audit key  %s\n", auditLine)
	if created {
		fmt.Fprintln(out, "First start: generated development users and tokens:")
		for _, u := range c.Users {
			role := "(acts for others)" // the notifier holds no role
			if len(u.Roles) > 0 {
				role = u.Roles[0]
			}
			fmt.Fprintf(out, "  %-6s %-16s %s\n", u.ID, role, u.Token)
		}
	}
	for _, env := range []string{"development", "staging", "production"} {
		if addr := c.Proxies[env]; addr != "" {
			fmt.Fprintf(out, "  %-10s http://%s   (the demo app's proxy)\n", env, addr)
		}
	}
	fmt.Fprintln(out, "Try: floe whoami,  floe demo rollback (a failing canary rolled back by the monitor),  floe audit verify.  Stop with Ctrl-C.")
}

// EnsureTokens creates, in dataDir, the development users' tokens file
// (hashes) and credentials file (plain tokens, for the CLI) unless both
// exist; it returns the credentials. `floe cluster` uses it as `floe dev` does.
func EnsureTokens(dataDir string) (*clientconf.Credentials, error) {
	creds, _, err := ensureTokens(dataDir)
	return creds, err
}
