package cli

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/tools/floe/internal/clientconf"
	"github.com/penguinmails/floe/tools/floe/internal/devenv"
)

// journeyReports are the test reports the journey sends as CI would (journeydata/README.md).
//
//go:embed journeydata/*.xml journeydata/*.sarif journeydata/*.json
var journeyReports embed.FS

const journeyProduct = "penguinmails"

func newDemoJourneyCmd(g *globals) *cobra.Command {
	var (
		cfg     devenv.Config
		exit    bool
		rps     int
		logFile string
		pace    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "journey",
		Short: "Run floe dev and drive one release through the whole guide, to watch in the console",
		Long: `journey starts 'floe dev' (the same flags) and drives PenguinMails' release
journey through it with the floe CLI, printing every command as it runs it, so
that you can watch it in the admin console (its address is printed first):

  0. penguinmails 2.0.0 goes to production the way every release does, so
     that production has a version to fall back to; then production's
     configuration gets demoapp.errorRate 0.2 (two approvals), the demo app's
     stand-in for a fault that only production has;
  1. alice plans 2.1.0; dave (operations) and frank (product) approve it for
     production;
  2. development: bob promotes it (rolling update), carol reports the unit
     and component tests (gotestsum JUnit): the gates are met;
  3. staging: carol approves, bob promotes (blue-green); integration, E2E,
     DAST and gosec SARIF reports; a failing critical-path suite makes the E2E
     gate warn, and carol overrides it with a reason;
  4. a change request for production: submitted by alice, reviewed by erin,
     approved by frank and dave, scheduled;
  5. production: --rps requests per second through production's proxy, bob
     promotes (canary); 2.1.0 fails a fifth of its requests there, the monitor
     rolls it back;
  6. the Slack and webhook receivers (loopback servers in this process) get
     one message each; the status page shows the incident;
  7. floe audit verify, and the compliance report of the journey.

Each step checks its outcome; a step that does not happen stops the journey
with the reason (exit 1). Afterwards floe dev keeps running for the console
until Ctrl-C (--exit: stop at once). The services' logs go to --log-file.

The data directory must not hold penguinmails releases yet (a fresh one, or
one where only other products were released); restarting 'floe dev' on it
later shows the journey again. It takes about a minute and a half (54 s with --pace 0).

  make journey                           # builds floe, runs this
  floe demo journey --data-dir /tmp/j    # beside a 'make run' on .floe: pass other ports too`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if rps < 1 || rps > 500 {
				return fmt.Errorf("--rps %d: use 1 to 500", rps)
			}
			if cfg.Notifier.File != "" {
				return errors.New("--notifier-config: the journey routes notifications to its own receivers; run 'floe dev' to use yours")
			}
			if pace < 0 || pace > time.Minute {
				return fmt.Errorf("--pace %s: use 0 to 1m", pace)
			}
			return runJourney(cmd.Context(), g.out, journeyOptions{config: cfg, exit: exit, rps: rps, logFile: logFile, pace: pace})
		},
	}
	if err := runtime.BindFlags(cmd.Flags(), &cfg); err != nil {
		panic(err)
	}
	if f := cmd.Flags().Lookup("log-format"); f != nil && !envSet("FLOE_LOG_FORMAT") {
		_ = f.Value.Set("console")
		f.DefValue = "console"
	}
	cmd.Flags().BoolVar(&exit, "exit", false, "stop floe dev when the journey ends (default: keep it running for the console until Ctrl-C)")
	cmd.Flags().IntVar(&rps, "rps", 20, "requests per second sent through production's proxy during the canary")
	cmd.Flags().StringVar(&logFile, "log-file", "", "where the services' logs go (default: <data-dir>/journey.log)")
	cmd.Flags().DurationVar(&pace, "pace", time.Second, "pause after each command from chapter 1 on, to follow it in the console (0: none)")
	return cmd
}

type journeyOptions struct {
	config  devenv.Config
	exit    bool
	rps     int
	logFile string
	pace    time.Duration
}

// journey drives the CLI, in this process, against the floe dev it started.
type journey struct {
	ctx       context.Context
	out       io.Writer
	creds     *clientconf.Credentials
	credsPath string
	reports   string // directory of the report files
	rx        *journeyReceivers
	rps       int
	pace      time.Duration // after each command, once the baseline is in place
	paced     bool
}

func runJourney(ctx context.Context, out io.Writer, o journeyOptions) error {
	started := time.Now()
	dataDir := o.config.NATS.DataDir
	if dataDir == "" {
		return errors.New("--data-dir is required")
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	rx, err := startJourneyReceivers()
	if err != nil {
		return err
	}
	defer rx.close()
	o.config.Notifier.File = filepath.Join(dataDir, "journey-notifier.yaml")
	if err := os.WriteFile(o.config.Notifier.File, []byte(rx.notifierConfig()), 0o600); err != nil {
		return err
	}
	reports := filepath.Join(dataDir, "journey-reports")
	if err := writeJourneyReports(reports); err != nil {
		return err
	}
	if o.logFile == "" {
		o.logFile = filepath.Join(dataDir, "journey.log")
	}
	logs, err := os.OpenFile(o.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("--log-file: %w", err)
	}
	defer logs.Close()

	devCtx, stopDev := context.WithCancel(ctx)
	defer stopDev()
	ready := make(chan *clientconf.Credentials, 1)
	devDone := make(chan error, 1)
	go func() {
		devDone <- devenv.Run(devCtx, devenv.Options{Config: o.config, Version: Version, Out: out, Log: logs,
			Ready: func(c *clientconf.Credentials) { ready <- c }})
	}()
	var creds *clientconf.Credentials
	select {
	case creds = <-ready:
	case err := <-devDone:
		if err == nil {
			err = errors.New("floe dev stopped before it was ready")
		}
		return fmt.Errorf("%w (its logs: %s)", err, o.logFile)
	}
	fmt.Fprintf(out, "\nThe services log to %s.\n", o.logFile)
	j := &journey{ctx: ctx, out: out, creds: creds, credsPath: filepath.Join(dataDir, clientconf.FileName), reports: reports, rx: rx, rps: o.rps, pace: o.pace}
	err = j.waitReady()
	if err == nil {
		if creds.Console != "" {
			fmt.Fprintf(out, "\nOpen the console to watch: http://%s (sign in as any dev user)\n", creds.Console)
		}
		err = j.drive()
	}
	if err != nil {
		stopDev()
		<-devDone
		return fmt.Errorf("the journey stopped: %w (the services' logs: %s)", err, o.logFile)
	}
	fmt.Fprintf(out, "\nThe journey is complete (%s).\n", time.Since(started).Round(time.Second))
	if o.exit {
		stopDev()
		return <-devDone
	}
	fmt.Fprintf(out, "floe dev keeps running: the console at http://%s shows all of it; the CLI works against it "+
		"(floe --credentials %s release get %s@2.1.0). Stop with Ctrl-C.\n", creds.Console, j.credsPath, journeyProduct)
	return <-devDone
}

func writeJourneyReports(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	entries, err := journeyReports.ReadDir("journeydata")
	if err != nil {
		return err
	}
	for _, e := range entries {
		b, err := journeyReports.ReadFile("journeydata/" + e.Name())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// waitReady waits for floe dev's readiness probe, then checks that the
// product has no releases yet.
func (j *journey) waitReady() error {
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + j.creds.Admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("floe dev is not ready after a minute (http://%s/readyz: %v)", j.creds.Admin, err)
		}
		if err := sleepCtx(j.ctx, 200*time.Millisecond); err != nil {
			return err
		}
	}
	out, err := j.query("admin", "release", "list", "--product", journeyProduct, "-o", "json")
	if err != nil {
		return err
	}
	var list struct {
		Releases []struct{ Version string } `json:"releases"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		return fmt.Errorf("release list: %w", err)
	}
	if len(list.Releases) > 0 {
		return fmt.Errorf("this data directory already holds %s releases (%s …): run the journey on a new --data-dir (restart 'floe dev' on this one to see the earlier journey)",
			journeyProduct, list.Releases[0].Version)
	}
	return nil
}

// drive is the journey, chapter by chapter.
func (j *journey) drive() error {
	for i, step := range []func() error{j.baseline, j.plan, j.development, j.staging, j.change, j.production, j.told, j.audit} {
		j.paced = i > 0
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// chapter prints a chapter's heading and what it shows.
func (j *journey) chapter(title string, lines ...string) {
	fmt.Fprintf(j.out, "\n━━ %s\n", title)
	for _, l := range lines {
		fmt.Fprintf(j.out, "   %s\n", l)
	}
}

// query runs a floe command as user in this process and returns its output, printing nothing.
func (j *journey) query(user string, args ...string) (string, error) {
	u, err := j.creds.Lookup(user)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	full := append([]string{"--server", j.creds.Server, "--token", u.Token, "--credentials", j.credsPath}, args...)
	err = Execute(j.ctx, full, &buf, &buf)
	return buf.String(), err
}

// journeyOutputLines is how much of a command's output the journey shows
// (the compliance report is shown whole).
const journeyOutputLines = 16

// floe runs a floe command as user, printing it (as one would type it) and
// its output (the first journeyOutputLines lines).
func (j *journey) floe(user string, args ...string) (string, error) {
	fmt.Fprintf(j.out, "\n$ floe --as %s %s\n", user, shellWords(args))
	out, err := j.query(user, args...)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	limit := journeyOutputLines
	if len(args) > 1 && args[0] == "compliance" {
		limit = len(lines)
	}
	for i, l := range lines {
		if i == limit {
			fmt.Fprintf(j.out, "  … %d more lines\n", len(lines)-limit)
			break
		}
		if l != "" {
			fmt.Fprintf(j.out, "  %s\n", l)
		}
	}
	if j.paced && j.pace > 0 {
		if err := sleepCtx(j.ctx, j.pace); err != nil {
			return out, err
		}
	}
	if err != nil {
		fmt.Fprintf(j.out, "  (exit %d) %s\n", ExitCode(err), strings.ReplaceAll(err.Error(), "\n", "\n  "))
		return out, fmt.Errorf("floe --as %s %s: %w", user, shellWords(args), err)
	}
	return out, nil
}

// refused runs a command that must fail with the given exit status and say want.
func (j *journey) refused(code int, want string, user string, args ...string) error {
	out, err := j.floe(user, args...)
	switch {
	case err == nil:
		return fmt.Errorf("floe %s succeeded; the journey expected it to fail", shellWords(args))
	case ExitCode(err) != code:
		return fmt.Errorf("floe %s: exit %d, want %d: %w", shellWords(args), ExitCode(err), code, err)
	case !strings.Contains(out+err.Error(), want):
		return fmt.Errorf("floe %s failed without saying %q: %w", shellWords(args), want, err)
	}
	return nil
}

func (j *journey) report(version, env, gate, suite, format, file string) error {
	_, err := j.floe("carol", "gate", "report", "--release", journeyRef(version), "--env", env, "--gate", gate, "--suite", suite, "--"+format, filepath.Join(j.reports, file))
	return err
}

func journeyRef(version string) string { return journeyProduct + "@" + version }

// waitEnv waits until the release's status in env is want, printing it.
func (j *journey) waitEnv(version, env, want string) error {
	start := time.Now()
	deadline := start.Add(3 * time.Minute)
	status := ""
	for {
		out, err := j.query("admin", "release", "get", journeyRef(version), "-o", "json")
		if err != nil {
			return err
		}
		var r struct {
			Release struct {
				Environments []struct {
					Environment, Status, Reason string
				} `json:"environments"`
			} `json:"release"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			return fmt.Errorf("release get: %w", err)
		}
		for _, e := range r.Release.Environments {
			if e.Environment == env {
				status = strings.TrimPrefix(e.Status, "RELEASE_STATUS_")
				if status == want {
					fmt.Fprintf(j.out, "   … %s is %s in %s (%s)\n", version, status, env, time.Since(start).Round(time.Second))
					return nil
				}
				if status == "FAILED" || status == "ROLLED_BACK" {
					return fmt.Errorf("%s ended %s in %s, want %s: %s", version, status, env, want, e.Reason)
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is %q in %s after 3 minutes, want %s", version, status, env, want)
		}
		if err := sleepCtx(j.ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

// waitChange waits until change id is in state want, printing it.
func (j *journey) waitChange(id, want string) error {
	start := time.Now()
	deadline := start.Add(time.Minute)
	state := ""
	for {
		out, err := j.query("admin", "change", "get", id, "-o", "json")
		if err != nil {
			return err
		}
		var c struct {
			Change struct{ State string } `json:"change"`
		}
		if err := json.Unmarshal([]byte(out), &c); err != nil {
			return fmt.Errorf("change get: %w", err)
		}
		if state = strings.TrimPrefix(c.Change.State, "CHANGE_STATE_"); state == want {
			fmt.Fprintf(j.out, "   … change %s is %s (%s)\n", id, state, time.Since(start).Round(time.Second))
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("change %s is %q after a minute, want %s", id, state, want)
		}
		if err := sleepCtx(j.ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

// baseline takes 2.0.0 to production, every gate passing, big-bang, and
// then changes production's configuration.
func (j *journey) baseline() error {
	j.chapter("0. The version production runs today: penguinmails 2.0.0",
		"Through the same pipeline as any release (big-bang to be quick), so that production has a version to fall back to.")
	// The notifier's receivers need their credentials: operations stores them as secrets.
	for _, s := range []struct{ name, value string }{{"slack/bot", j.rx.slackToken}, {"webhook/signing", j.rx.hookSecret}} {
		p := filepath.Join(j.reports, "secret-value")
		if err := os.WriteFile(p, []byte(s.value), 0o600); err != nil {
			return err
		}
		_, err := j.floe("dave", "secrets", "put", "notifier", s.name, "--from-file", p, "--reason", "the journey's Slack and webhook receivers")
		_ = os.Remove(p)
		if err != nil {
			return err
		}
	}
	steps := [][]string{
		{"alice", "release", "create", "--product", journeyProduct, "--version", "2.0.0", "--type", "major", "--title", "PenguinMails 2.0",
			"--change", "feature:Campaign scheduling"},
		{"dave", "release", "approve", journeyRef("2.0.0"), "--env", "production", "--comment", "capacity checked"},
		{"frank", "release", "approve", journeyRef("2.0.0"), "--env", "production", "--comment", "launch agreed"},
		{"bob", "release", "promote", journeyRef("2.0.0"), "--env", "development", "--strategy", "big-bang"},
	}
	if err := j.all(steps); err != nil {
		return err
	}
	if err := j.waitEnv("2.0.0", "development", "DEPLOYED"); err != nil {
		return err
	}
	if err := j.devGates("2.0.0"); err != nil {
		return err
	}
	if err := j.all([][]string{
		{"carol", "release", "approve", journeyRef("2.0.0"), "--env", "staging", "--comment", "QA passed"},
		{"bob", "release", "promote", journeyRef("2.0.0"), "--env", "staging", "--strategy", "big-bang"},
	}); err != nil {
		return err
	}
	if err := j.waitEnv("2.0.0", "staging", "DEPLOYED"); err != nil {
		return err
	}
	for _, r := range j.stagingReports("gotestsum-1.13.0-pass.xml") {
		if err := j.report("2.0.0", "staging", r[0], r[1], r[2], r[3]); err != nil {
			return err
		}
	}
	// gosec's findings are all new the first time: reviewed, accepted as the baseline, reported again.
	if err := j.refused(1, "new error-level finding", "carol", "gate", "report", "--release", journeyRef("2.0.0"), "--env", "staging",
		"--gate", "Security Tests", "--suite", "sast", "--sarif", filepath.Join(j.reports, "gosec-v1.sarif")); err != nil {
		return err
	}
	if err := j.all([][]string{
		{"bob", "gate", "accept-baseline", "--release", journeyRef("2.0.0"), "--env", "staging", "--gate", "Security Tests", "--suite", "sast",
			"--reason", "reviewed: tracked in SEC-41"},
	}); err != nil {
		return err
	}
	if err := j.report("2.0.0", "staging", "Security Tests", "sast", "sarif", "gosec-v1.sarif"); err != nil {
		return err
	}
	if err := j.changeRequest("2.0.0", "chg-penguinmails-2-0-0", "PenguinMails 2.0 to production"); err != nil {
		return err
	}
	if _, err := j.floe("bob", "release", "promote", journeyRef("2.0.0"), "--env", "production", "--strategy", "big-bang"); err != nil {
		return err
	}
	if err := j.waitEnv("2.0.0", "production", "DEPLOYED"); err != nil {
		return err
	}
	// The change service validates the change from the deployment's events,
	// a moment after the release says deployed.
	if err := j.waitChange("chg-penguinmails-2-0-0", "VALIDATED"); err != nil {
		return err
	}
	if _, err := j.floe("erin", "change", "close", "chg-penguinmails-2-0-0", "--notes", "2.0.0 is live"); err != nil {
		return err
	}
	// Production's configuration changes: it reaches production with the next deployment.
	doc := filepath.Join(j.reports, "production-config.json")
	if err := os.WriteFile(doc, []byte(`{"demoapp": {"errorRate": 0.2}}`+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Fprintln(j.out, "\n   Production's configuration gets demoapp.errorRate 0.2 (DEMOAPP_ERROR_RATE for the demo app: a fifth of its",
		"requests fail), the stand-in for a fault only production has. It reaches production with the next deployment.")
	if _, err := j.floe("dave", "config", "set", "production", "--file", doc, "--reason", "bounce processing tuned for production volumes"); err != nil {
		return err
	}
	out, err := j.query("admin", "config", "proposal", "production", "-o", "json")
	if err != nil {
		return err
	}
	var p struct {
		Proposal json.Number `json:"proposal"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil || p.Proposal == "" {
		return fmt.Errorf("the pending proposal of production: %v\n%s", err, out)
	}
	return j.all([][]string{
		{"erin", "config", "approve", "production", p.Proposal.String(), "--comment", "no credentials in it"},
		{"frank", "config", "approve", "production", p.Proposal.String()},
	})
}

// all runs each command (user first), stopping at the first failure.
func (j *journey) all(cmds [][]string) error {
	for _, c := range cmds {
		if _, err := j.floe(c[0], c[1:]...); err != nil {
			return err
		}
	}
	return nil
}

func (j *journey) devGates(version string) error {
	for _, suite := range []string{"unit-tests", "component-tests"} {
		if err := j.report(version, "development", "Unit Tests", suite, "junit", "gotestsum-1.13.0-pass.xml"); err != nil {
			return err
		}
	}
	return nil
}

// stagingReports are staging's reports but the SARIF one: gate, suite, format, file.
func (j *journey) stagingReports(criticalPath string) [][4]string {
	return [][4]string{
		{"Integration Tests", "api-tests", "junit", "gotestsum-1.13.0-pass.xml"},
		{"Integration Tests", "database-tests", "junit", "gotestsum-1.13.0-pass.xml"},
		{"E2E Tests", "user-journey-tests", "junit", "gotestsum-1.13.0-pass.xml"},
		{"E2E Tests", "critical-path-tests", "junit", criticalPath},
		{"Security Tests", "dast", "summary", "zap-summary.json"},
		{"Security Tests", "dependency-scan", "summary", "zap-summary.json"},
	}
}

// changeRequest submits, reviews, approves and schedules a normal change for production.
func (j *journey) changeRequest(version, id, title string) error {
	now := time.Now().UTC()
	stamp := func(t time.Time) string { return t.Format(time.RFC3339) }
	return j.all([][]string{
		{"alice", "change", "submit", "--id", id, "--title", title, "--description", "Release " + version + " of " + journeyProduct,
			"--type", "enhancement", "--priority", "medium", "--impact", "medium", "--risk", "low", "--env", "production", "--release", journeyRef(version),
			"--planned-start", stamp(now), "--duration", "30m",
			"--implementation-step", "Promote to production|bob|10|the release is deployed",
			"--rollback-step", "Roll back with floe deploy rollback|bob|5", "--testing-step", "Send a test campaign"},
		{"erin", "change", "review", id, "--pass", "--notes", "plans complete"},
		{"frank", "change", "approve", id, "--comment", "scope agreed"},
		{"dave", "change", "approve", id},
		{"dave", "change", "schedule", id, "--start", stamp(now.Add(-time.Minute)), "--end", stamp(now.Add(2 * time.Hour))},
	})
}

func (j *journey) plan() error {
	j.chapter("1. Plan penguinmails 2.1.0; two people approve it for production",
		"Production needs two approvals from release managers, operations, product or security, never the author's.")
	return j.all([][]string{
		{"alice", "release", "create", "--product", journeyProduct, "--version", "2.1.0", "--type", "minor", "--title", "PenguinMails 2.1",
			"--description", "Faster bounce processing and an Outlook rendering fix", "--change", "feature:Faster bounce processing",
			"--change", "bug_fix:Outlook rendering of campaign footers"},
		{"dave", "release", "approve", journeyRef("2.1.0"), "--env", "production", "--comment", "capacity checked"},
		{"frank", "release", "approve", journeyRef("2.1.0"), "--env", "production", "--comment", "launch date agreed with sales"},
	})
}

func (j *journey) development() error {
	j.chapter("2. Development: deployed (rolling update), unit and component tests from gotestsum JUnit")
	if _, err := j.floe("bob", "release", "promote", journeyRef("2.1.0"), "--env", "development"); err != nil {
		return err
	}
	if err := j.waitEnv("2.1.0", "development", "DEPLOYED"); err != nil {
		return err
	}
	if err := j.devGates("2.1.0"); err != nil {
		return err
	}
	_, err := j.floe("carol", "gate", "status", "--release", journeyRef("2.1.0"), "--env", "development")
	return err
}

func (j *journey) staging() error {
	j.chapter("3. Staging: approved by QA, deployed (blue-green), JUnit, SARIF and DAST reports",
		"The critical-path E2E suite fails: the E2E gate warns (it allows a manual override) and QA overrides it with a reason.")
	if err := j.all([][]string{
		{"carol", "release", "approve", journeyRef("2.1.0"), "--env", "staging", "--comment", "QA passed in development"},
		{"bob", "release", "promote", journeyRef("2.1.0"), "--env", "staging"},
	}); err != nil {
		return err
	}
	if err := j.waitEnv("2.1.0", "staging", "DEPLOYED"); err != nil {
		return err
	}
	for _, r := range j.stagingReports("gotestsum-1.13.0-fail.xml") {
		if r[1] == "critical-path-tests" {
			if err := j.refused(1, "FAILED E2E Tests/critical-path-tests", "carol", "gate", "report", "--release", journeyRef("2.1.0"), "--env", "staging",
				"--gate", r[0], "--suite", r[1], "--"+r[2], filepath.Join(j.reports, r[3])); err != nil {
				return err
			}
			continue
		}
		if err := j.report("2.1.0", "staging", r[0], r[1], r[2], r[3]); err != nil {
			return err
		}
	}
	// gosec finds what 2.0.0's accepted baseline holds: nothing new.
	if err := j.report("2.1.0", "staging", "Security Tests", "sast", "sarif", "gosec-v1.sarif"); err != nil {
		return err
	}
	if err := j.refused(1, "GATE_NOT_PASSED", "bob", "release", "promote", journeyRef("2.1.0"), "--env", "production"); err != nil {
		return err
	}
	return j.all([][]string{
		{"carol", "gate", "override", "--release", journeyRef("2.1.0"), "--env", "staging", "--gate", "E2E Tests",
			"--reason", "the 4 critical-path failures are the known flaky SMTP sandbox (QA-112); verified by hand", "--expires", "24h"},
		{"carol", "gate", "status", "--release", journeyRef("2.1.0"), "--env", "staging"},
	})
}

func (j *journey) change() error {
	j.chapter("4. A change request for production",
		"Submitted by the developer, reviewed by security, approved by product and operations, scheduled for the next two hours.")
	if err := j.refused(1, "CHANGE_REQUEST_REQUIRED", "bob", "release", "promote", journeyRef("2.1.0"), "--env", "production"); err != nil {
		return err
	}
	return j.changeRequest("2.1.0", "chg-penguinmails-2-1-0", "PenguinMails 2.1 to production")
}

func (j *journey) production() error {
	j.chapter("5. Production: a canary under load; the monitor rolls it back",
		fmt.Sprintf("%d requests per second go through production's proxy (http://%s); 2.1.0 starts with production's configuration.", j.rps, j.creds.Proxies["production"]),
		"The monitor's error_rate trigger, scoped to 2.1.0 in production, breaches; after 20 s it rolls the canary back.")
	proxy := j.creds.Proxies["production"]
	if proxy == "" {
		return errors.New("floe dev has no proxy for production")
	}
	load := &loadTally{counts: map[string]map[int]int{}}
	loadCtx, stopLoad := context.WithCancel(j.ctx)
	defer stopLoad()
	go load.run(loadCtx, "http://"+proxy+"/", j.rps)
	if _, err := j.floe("bob", "release", "promote", journeyRef("2.1.0"), "--env", "production"); err != nil {
		return err
	}
	dep := journeyRef("2.1.0") + "/production"
	deadline := time.Now().Add(time.Minute)
	for {
		if _, err := j.query("bob", "deploy", "get", dep); err == nil {
			break
		} else if time.Now().After(deadline) {
			return fmt.Errorf("no deployment of 2.1.0 to production a minute after the promotion: %w", err)
		}
		if err := sleepCtx(j.ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
	if _, err := j.floe("bob", "deploy", "watch", dep, "--brief"); err != nil {
		return err
	}
	stopLoad()
	if err := j.waitEnv("2.1.0", "production", "ROLLED_BACK"); err != nil {
		return err
	}
	load.print(j.out)
	return nil
}

func (j *journey) told() error {
	j.chapter("6. Who was told: Slack, a signed webhook, the status page")
	fmt.Fprintf(j.out, "   Slack's Web API and a webhook endpoint on loopback (%s) stand in for the real ones; the notifier routes rollbacks to both.\n", j.rx.base)
	if err := j.rx.waitOne(j.ctx, 90*time.Second); err != nil {
		return err
	}
	slack, hooks := j.rx.snapshot()
	fmt.Fprintf(j.out, "   Slack #releases got %d message: %s\n", len(slack), oneLine(slack[0], 200))
	fmt.Fprintf(j.out, "   the webhook got %d message, its Standard Webhooks signature verified: %s\n", len(hooks), describeCloudEvent(hooks[0]))
	incident, err := j.incident()
	if err != nil {
		return err
	}
	fmt.Fprintf(j.out, "   the status page (http://%s/status): %s\n", j.creds.Notifier, incident)
	_, err = j.floe("dave", "notify", "list", "--limit", "5")
	return err
}

// incident waits for the status page to show an incident and describes it.
func (j *journey) incident() (string, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + j.creds.Notifier + "/status/api/v2/incidents.json")
		if err == nil {
			var doc struct {
				Incidents []struct {
					Name, Status string
				} `json:"incidents"`
			}
			err = json.NewDecoder(resp.Body).Decode(&doc)
			resp.Body.Close()
			if err == nil && len(doc.Incidents) > 0 {
				return fmt.Sprintf("incident %q, %s", doc.Incidents[0].Name, doc.Incidents[0].Status), nil
			}
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("the status page shows no incident a minute after the rollback (%v)", err)
		}
		if err := sleepCtx(j.ctx, 500*time.Millisecond); err != nil {
			return "", err
		}
	}
}

func (j *journey) audit() error {
	j.chapter("7. The proof: the log verifies, and the compliance report lists it all")
	if _, err := j.floe("erin", "audit", "checkpoint"); err != nil { // a signed Merkle checkpoint over all of it
		return err
	}
	out, err := j.floe("erin", "audit", "verify")
	if err != nil {
		return err
	}
	if !strings.Contains(out, "OK") {
		return errors.New("floe audit verify did not say OK")
	}
	from, to := time.Now().Add(-24*time.Hour).UTC().Format(time.RFC3339), time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	if _, err := j.floe("erin", "compliance", "report", "--from", from, "--to", to, "--env", "production"); err != nil {
		return err
	}
	js, err := j.query("erin", "compliance", "report", "--from", from, "--to", to, "--env", "production", "--format", "json")
	if err != nil {
		return err
	}
	var rep struct {
		Summary struct {
			Deployments       int `json:"deployments"`
			WithChangeRequest int `json:"with_change_request"`
			Rollbacks         int `json:"rollbacks"`
		} `json:"summary"`
		Verification struct {
			OK bool `json:"ok"`
		} `json:"verification"`
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		return fmt.Errorf("compliance report JSON: %w", err)
	}
	if s := rep.Summary; s.Deployments != 2 || s.WithChangeRequest != 2 || s.Rollbacks != 1 || !rep.Verification.OK {
		return fmt.Errorf("the compliance report counts %d production deployments, %d with a change request, %d rollbacks (verified %v); want 2, 2, 1 and verified",
			s.Deployments, s.WithChangeRequest, s.Rollbacks, rep.Verification.OK)
	}
	return nil
}

// shellWords joins args as a shell would need them typed.
func shellWords(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'$`\\|&;<>()*?!#~") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// describeCloudEvent is a webhook body (a CloudEvent in JSON) in a line:
// its type and the episodes it tells of, or its start when it is not one.
func describeCloudEvent(body string) string {
	var ce struct {
		Type string `json:"type"`
		Data struct {
			Episodes []struct{ Key, Status string } `json:"episodes"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &ce); err != nil || ce.Type == "" {
		return oneLine(body, 200)
	}
	parts := []string{"CloudEvent " + ce.Type}
	for _, e := range ce.Data.Episodes {
		parts = append(parts, e.Key+" "+e.Status)
	}
	return strings.Join(parts, ", ")
}
