//go:build browser

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/penguinmails/floe/libs/testkit"
)

// TestConsoleInChromium drives the admin console of a real `floe dev` in
// headless Chromium (Debian's chromium; `make browser` installs it): sign
// in as a dev user, read a release whose title is an attempted script
// injection (shown as text, no dialog ever opens), promote it and watch
// the page update itself over server-sent events until development runs
// it, approve staging as another user, and see a cross-site form posted by
// another origin refused with nothing done. Screenshots of each step are
// kept in $FLOE_ARTIFACTS (default e2e/artifacts/browser).
func TestConsoleInChromium(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	d := startDev(t, dataDir)
	if d.creds.Console == "" {
		t.Fatal("floe dev wrote no console address")
	}
	base := "http://" + d.creds.Console
	env := []string{"FLOE_CREDENTIALS=" + filepath.Join(dataDir, "dev-credentials.yaml"), "FLOE_TOKEN=", "FLOE_SERVER=", "FLOE_NATS_URL="}
	const hostile = `<script>alert(1)</script>`
	out, err := runCLI(t, ctx, env, "--as", "alice", "release", "create", "--product", "penguinmails", "--version", "2.1.0", "--type", "minor",
		"--title", hostile, "-o", "json")
	if err != nil {
		t.Fatalf("create: %v\n%s", err, out)
	}
	var created struct {
		Release struct {
			ID string `json:"id"`
		} `json:"release"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.Release.ID == "" {
		t.Fatalf("create: %v\n%s", err, out)
	}
	id := created.Release.ID

	b := newBrowser(t, ctx)
	bctx, shot, fail, do, text, poll := b.ctx, b.shot, b.fail, b.do, b.text, b.poll
	signIn := func(user string) {
		t.Helper()
		do("sign in as "+user,
			chromedp.Navigate(base+"/releases/"+id),
			chromedp.WaitVisible(chromedp.CSS(`form.devusers`)),
			chromedp.Click(chromedp.CSS(`button[name="dev_user"][value="`+user+`"]`)),
			chromedp.WaitVisible(chromedp.CSS(`#release`)),
		)
	}

	// Signed out, the release page asks to sign in; bob signs in with a click.
	signIn("bob")
	if title := text("read the title", `p.title`); title != hostile {
		t.Errorf("the title shows %q, want the text %q", title, hostile)
	}
	do("screenshot", shot("1-release"))
	scripts, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("script").length`))
	if err != nil {
		fail("count scripts", err)
	}
	if scripts != 1 { // the console's own
		t.Errorf("%d script elements on the page; the injected title made one", scripts)
	}

	// Promote to development: the page updates itself (SSE) until development runs the release.
	// (Its notice may be gone at once: the page reloads itself when the release changes.)
	do("promote to development", submit(`form[action$="/promote"] button`)) // the first row: development
	poll("development deployed, seen live", `#release tbody tr:first-child td:nth-child(2) .status`, 90*time.Second,
		func(st string) bool { return st == "deployed" })
	do("screenshot", shot("2-deployed-in-development"))
	// Its deployment, from the release's page: the plan, each step done, all the traffic on the new version.
	do("open the deployment", chromedp.Click(chromedp.CSS(`#release tbody tr:first-child td:nth-child(4) a`)), chromedp.WaitVisible(chromedp.CSS(`#deployment`)))
	poll("the deployment succeeded", `#deployment h1 .status`, 30*time.Second, func(st string) bool { return st == "succeeded" })
	if w := text("read the split", `#weight`); w != "100" {
		t.Errorf("the deployment page shows %s %% on the new version", w)
	}
	if steps := text("read the plan", `table.steps tbody`); !strings.Contains(steps, "start") || strings.Contains(steps, "to do") {
		t.Errorf("the plan reads:\n%s", steps)
	}
	do("screenshot", shot("2b-deployment"))

	// A kill switch: a flag on in development is killed from the flags page, with a reason.
	flagFile := writeFile(t, dataDir, "search.json", `{"key": "search", "description": "the new <b>search</b>", "owner": "growth",
  "variants": {"on": true, "off": false}, "defaultVariant": "on"}`)
	if out, err := runCLI(t, ctx, env, "--as", "alice", "flags", "create", "--env", "development", "--file", flagFile, "--reason", "search ships"); err != nil {
		t.Fatalf("flags create: %v\n%s", err, out)
	}
	do("kill the flag",
		chromedp.Navigate(base+"/flags?env=development"),
		chromedp.WaitVisible(chromedp.CSS(`form.kill`)),
		chromedp.SendKeys(chromedp.CSS(`#k-search`), "errors in checkout"),
		submit(`form.kill button`),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
		shot("2c-flag-killed"),
	)
	if st := text("read the flag's state", `table.list tbody tr:first-child .status`); st != "disabled" {
		t.Errorf("after the kill switch the flag is %q", st)
	}
	if out, err := runCLI(t, ctx, env, "flags", "get", "search", "--env", "development"); err != nil || !strings.Contains(strings.ToLower(out), "disabled") {
		t.Errorf("the flag service does not say the flag is disabled: %v\n%s", err, out)
	}
	// The flag's page: roll it out to 30 %, read its history, and see it as it was when created.
	do("roll the flag out",
		chromedp.Click(chromedp.CSS(`table.list tbody tr:first-child td:first-child a`)),
		chromedp.WaitVisible(chromedp.CSS(`form.rollout`)),
		chromedp.SetValue(chromedp.CSS(`#r-variant`), "on"),
		chromedp.SendKeys(chromedp.CSS(`#r-percent`), "30"),
		chromedp.SendKeys(chromedp.CSS(`#r-reason`), "a third of the users first"),
		submit(`form.rollout button`),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
		shot("2d-flag-rolled-out"),
	)
	if ro := text("read the rollout", `#rollout`); ro != "on for 30 %" {
		t.Errorf("after the rollout the flag's page says %q", ro)
	}
	if hist := text("read the history", `ol.timeline`); !strings.Contains(hist, "KILLED") || !strings.Contains(hist, "a third of the users first") {
		t.Errorf("the flag's history:\n%s", hist)
	}
	// Its definition edited from the page; an edit made from a page the flag has changed since is refused.
	do("edit the flag",
		chromedp.SetValue(chromedp.CSS(`#e-description`), "the new search, v2"),
		chromedp.SendKeys(chromedp.CSS(`#e-reason`), "copy"),
		submit(`form.edit button`),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	if d := text("read the description", `dl.facts dd.text`); d != "the new search, v2" {
		t.Errorf("after the edit the description reads %q", d)
	}
	if out, err := runCLI(t, ctx, env, "--as", "bob", "flags", "rollout", "search", "--env", "development", "--percent", "40", "--reason", "meanwhile, elsewhere"); err != nil {
		t.Fatalf("flags rollout: %v\n%s", err, out)
	}
	do("edit from a stale page",
		chromedp.SetValue(chromedp.CSS(`#e-description`), "overwrites the rollout"),
		chromedp.SendKeys(chromedp.CSS(`#e-reason`), "stale"),
		submit(`form.edit button`),
		chromedp.WaitVisible(chromedp.CSS(`main`)),
	)
	if refused := text("read the refusal", `main`); !strings.Contains(refused, "Aborted") && !strings.Contains(strings.ToLower(refused), "conflict") {
		t.Errorf("an edit from a stale page answered:\n%s", refused)
	}
	if out, err := runCLI(t, ctx, env, "flags", "get", "search", "--env", "development"); err != nil || strings.Contains(out, "overwrites the rollout") {
		t.Errorf("the stale edit changed the flag: %v\n%s", err, out)
	}
	do("back to the flag", chromedp.Navigate(base+"/flags/development/search"), chromedp.WaitVisible(chromedp.CSS(`ol.timeline`)))
	do("the flag as it was created",
		chromedp.Click(chromedp.CSS(`ol.timeline li:first-child a`)),
		chromedp.WaitVisible(chromedp.CSS(`p.asof`)),
		shot("2e-flag-as-created"),
	)
	if st := text("read the past state", `h1 .status`); st != "enabled" {
		t.Errorf("as of its creation the flag is %q, want enabled", st)
	}
	if n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("form.rollout").length`)); err != nil || n != 0 {
		t.Errorf("the page as of a past position offers the rollout form (%d, %v)", n, err)
	}

	// Another origin's page posts a form to the console: refused, nothing done.
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/releases/%s/promote"><input name="env" value="staging"></form>
<script>document.getElementById("f").submit()</script>`, base, id)
	}))
	defer attacker.Close()
	do("cross-site post", chromedp.Navigate(attacker.URL), chromedp.WaitVisible(chromedp.CSS(`main`)), shot("3-cross-site-refused"))
	if refused := text("read the answer", `main`); !strings.Contains(refused, "refused") && !strings.Contains(refused, "session has ended") {
		t.Errorf("the cross-site post answered:\n%s", refused)
	}

	// Carol approves staging with a comment, as herself.
	do("sign out", chromedp.Navigate(base+"/releases/"+id), chromedp.Click(chromedp.CSS(`form.who button`)), chromedp.WaitVisible(chromedp.CSS(`form.token`)))
	signIn("carol")
	do("approve staging",
		chromedp.SendKeys(chromedp.CSS(`#c-staging`), "QA passed"),
		submit(`form[action$="/approve"]:has(#c-staging) button`),
	)
	poll("staging approved by carol", `#release tbody tr:nth-child(2) td:nth-child(3)`, 30*time.Second, func(a string) bool {
		return strings.Contains(a, "1 of 1") && strings.Contains(a, "carol") && strings.Contains(a, "QA passed")
	})
	do("screenshot", shot("4-approved-staging"))
	// The audit page, as security: a checkpoint signed now, and the compliance report for the period.
	do("sign out", chromedp.Click(chromedp.CSS(`form.who button`)), chromedp.WaitVisible(chromedp.CSS(`form.token`)))
	signIn("erin")
	do("the audit page",
		chromedp.Navigate(base+"/audit"),
		chromedp.WaitVisible(chromedp.CSS(`#log-size`)),
		submit(`form[action="/audit/checkpoint"] button`),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	// (Events may follow the checkpoint before the page is read: a monitor's evaluations.)
	if logSize, signed := text("read the log size", `#log-size`), text("read the signed size", `#signed-size`); signed == "0" || signed == "" {
		t.Errorf("after signing a checkpoint: %s of %s events signed", signed, logSize)
	}
	// Positions verified by the audit service, and a bundle of them downloaded.
	do("verify a range",
		chromedp.SendKeys(chromedp.CSS(`#v-from`), "1"),
		chromedp.SendKeys(chromedp.CSS(`#v-to`), "10"),
		submit(`form.verify button:not([formaction])`),
		chromedp.WaitVisible(chromedp.CSS(`#verification`)),
		shot("5a-verified"),
	)
	if v := text("read the verification", `#verification`); !strings.HasPrefix(v, "OK: 10 events (positions 1..10)") {
		t.Errorf("the verification of positions 1..10 reads:\n%s", v)
	}
	bundle, err := chromedp.Run(bctx, chromedp.Evaluate[string](`fetch("/audit/bundle?vfrom=1&vto=10").then(r => r.text())`, chromedp.EvalAwaitPromise))
	if err != nil {
		fail("download a bundle", err)
	}
	if first := strings.SplitN(bundle, "\n", 2)[0]; !strings.Contains(first, `"floe-audit-bundle/v2"`) || !strings.Contains(first, `"to":10`) {
		t.Errorf("the bundle's first line: %s", first)
	}
	do("the compliance report",
		chromedp.SendKeys(chromedp.CSS(`#r-envs`), "development"),
		submit(`button[name="report"][value="show"]`),
		chromedp.WaitVisible(chromedp.CSS(`#report`)),
		shot("5-audit"))
	rep, err := chromedp.Run(bctx, chromedp.TextContent(chromedp.CSS(`#report`)))
	if err != nil {
		fail("read the report", err)
	}
	if !strings.Contains(rep, "development") || !strings.Contains(rep, id+"-development-1") {
		t.Errorf("the compliance report of development does not list the deployment:\n%s", rep)
	}
	// The release service agrees; staging was never promoted by the attacker's form.
	out, err = runCLI(t, ctx, env, "release", "get", id, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Release struct {
			Environments []struct {
				Environment, Status, PromotedBy string
			} `json:"environments"`
		} `json:"release"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	for _, e := range got.Release.Environments {
		if e.Environment == "staging" && (e.PromotedBy != "" || strings.Contains(e.Status, "DEPLOY")) {
			t.Errorf("staging was promoted (by %q, %s): the cross-site form acted", e.PromotedBy, e.Status)
		}
	}
	b.checkNoDialogs()
}

// TestConsoleWatchesTheJourney runs `floe demo journey` and watches its
// production canary in the console as operations would: the deployment page
// updates itself as the canary takes traffic, the monitor's error-rate chart
// shows the samples past the threshold, and the page turns to rolled back
// when the monitor rolls the canary back — then the release's page tells the
// whole story. The screenshots go to $FLOE_ARTIFACTS.
func TestConsoleWatchesTheJourney(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	dataDir := t.TempDir()
	deployerCfg := writeFile(t, dataDir, "deployer-ports.yaml", `local:
  proxies: {development: "127.0.0.1:0", staging: "127.0.0.1:0", production: "127.0.0.1:0"}
`)
	journey := exec.CommandContext(ctx, floeBinary(t), "demo", "journey", "--pace", "0", "--data-dir", dataDir, "--deployer-config", deployerCfg,
		"--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", "--ofrep-addr", "127.0.0.1:0", "--notifier-http-addr", "127.0.0.1:0",
		"--console-addr", "127.0.0.1:0", "--nats-listen", "127.0.0.1:0")
	out := &testkit.SyncBuffer{}
	journey.Stdout, journey.Stderr = out, out
	if err := journey.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- journey.Wait() }()
	t.Cleanup(func() {
		if journey.ProcessState == nil {
			_ = journey.Process.Signal(syscall.SIGINT)
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				_ = journey.Process.Kill()
			}
		}
	})
	// waitFor waits until the journey has printed want.
	waitFor := func(want string, within time.Duration) {
		t.Helper()
		deadline := time.Now().Add(within)
		for !strings.Contains(out.String(), want) {
			select {
			case err := <-done:
				t.Fatalf("the journey ended (%v) before %q:\n%s", err, want, out)
			case <-time.After(200 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("the journey did not print %q within %s:\n%s", want, within, out)
			}
		}
	}
	waitFor("Open the console to watch", time.Minute)
	data, err := os.ReadFile(filepath.Join(dataDir, "dev-credentials.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var creds devCredentials
	if err := yaml.Unmarshal(data, &creds); err != nil || creds.Console == "" {
		t.Fatalf("dev credentials: %v (console %q)", err, creds.Console)
	}
	base := "http://" + creds.Console
	env := []string{"FLOE_CREDENTIALS=" + filepath.Join(dataDir, "dev-credentials.yaml"), "FLOE_TOKEN=", "FLOE_SERVER=", "FLOE_NATS_URL="}

	b := newBrowser(t, ctx)
	b.do("sign in as dave",
		chromedp.Navigate(base+"/releases"),
		chromedp.WaitVisible(chromedp.CSS(`form.devusers`)),
		chromedp.Click(chromedp.CSS(`button[name="dev_user"][value="dave"]`)),
		chromedp.WaitVisible(chromedp.CSS(`main`)),
	)
	// The production canary: its deployment exists once the journey promoted it.
	waitFor("$ floe --as bob deploy watch penguinmails@2.1.0/production", 3*time.Minute)
	rel, err := runCLI(t, ctx, env, "release", "get", "penguinmails@2.1.0", "-o", "json")
	if err != nil {
		t.Fatalf("release get: %v\n%s", err, rel)
	}
	var got struct {
		Release struct {
			ID string `json:"id"`
		} `json:"release"`
	}
	if err := json.Unmarshal([]byte(rel), &got); err != nil || got.Release.ID == "" {
		t.Fatalf("release get: %v\n%s", err, rel)
	}
	dep := got.Release.ID + "-production-1"
	b.do("open the canary", chromedp.Navigate(base+"/deployments/"+dep), chromedp.WaitVisible(chromedp.CSS(`#deployment`)))
	if st := b.text("read the status", `#deployment h1 .status`); st != "running" {
		t.Fatalf("the canary's page opened %q, want running (the journey's canary lasts about 30 s)", st)
	}
	// Without a reload by the test, the page follows the canary: 20 % of the
	// traffic, then the monitor's samples past the threshold on the chart.
	b.poll("the canary takes 20 %", `#weight`, time.Minute, func(w string) bool { return w == "20" })
	b.poll("the error-rate chart shows a breach", `#chart-error_rate figcaption .state`, time.Minute, func(st string) bool {
		return st == "breaching" || st == "fired"
	})
	breaches, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#chart-error_rate circle.breach").length`))
	if err != nil {
		b.fail("count the breaching samples", err)
	}
	if breaches == 0 {
		t.Errorf("the chart is breaching but marks no sample past the threshold")
	}
	b.do("screenshot", b.shot("journey-1-canary-breaching"))
	b.poll("the monitor rolls the canary back", `#deployment h1 .status`, 2*time.Minute, func(st string) bool { return st == "rolled back" })
	if reason := b.text("read the reason", `p.reason`); !strings.Contains(reason, "error_rate") {
		t.Errorf("the rolled back deployment's reason: %q", reason)
	}
	if w := b.text("read the split", `#weight`); w != "0" {
		t.Errorf("after the rollback the page shows %s %% of the traffic on 2.1.0", w)
	}
	b.do("screenshot", b.shot("journey-2-rolled-back"))
	// Time travel: the same page as it was just before the rollback, rebuilt from the log.
	evs, err := runCLI(t, ctx, env, "events", "tail", "--aggregate", "deployment", "--id", dep, "--type", "RollbackStarted", "--from", "1", "--no-follow", "-o", "json")
	var rb struct {
		Position uint64
		Time     time.Time
	}
	if err != nil || json.Unmarshal([]byte(strings.SplitN(evs, "\n", 2)[0]), &rb) != nil || rb.Position == 0 || rb.Time.IsZero() {
		t.Fatalf("the RollbackStarted event: %v\n%s", err, evs)
	}
	b.do("the canary before its rollback", chromedp.Navigate(fmt.Sprintf("%s/deployments/%s?at=%d", base, dep, rb.Position-1)), chromedp.WaitVisible(chromedp.CSS(`p.asof`)))
	if st := b.text("read the past status", `#deployment h1 .status`); st != "running" {
		t.Errorf("as of position %d the canary is %q, want running", rb.Position-1, st)
	}
	if w := b.text("read the past split", `#weight`); w != "20" {
		t.Errorf("as of position %d the canary had %s %% of the traffic, want 20", rb.Position-1, w)
	}
	// The monitor's chart as of then: the samples taken by then, past the threshold.
	if past, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#chart-error_rate circle.breach").length`)); err != nil || past == 0 {
		t.Errorf("as of position %d the page charts no breaching error_rate sample (%v)", rb.Position-1, err)
	}
	b.do("screenshot", b.shot("journey-2b-before-the-rollback"))
	// The same, named by a moment: a millisecond before the rollback started.
	moment := rb.Time.Add(-time.Millisecond).UTC().Format(time.RFC3339Nano)
	b.do("the canary a moment before its rollback", chromedp.Navigate(fmt.Sprintf("%s/deployments/%s?at=%s", base, dep, moment)), chromedp.WaitVisible(chromedp.CSS(`p.asof`)))
	if st := b.text("read the status then", `#deployment h1 .status`); st != "running" {
		t.Errorf("as of %s the canary is %q, want running", moment, st)
	}
	// The release's page: production rolled back, with the story in its timeline.
	waitFor("The journey is complete", 3*time.Minute)
	b.do("the release", chromedp.Navigate(base+"/releases/"+got.Release.ID), chromedp.WaitVisible(chromedp.CSS(`#release`)), b.shot("journey-3-release"))
	page := b.text("read the release", `main`)
	for _, want := range []string{"rolled back", "production", "dave", "frank", "overridden by carol", "critical-path-tests: failed", "gosec", "sha256:",
		"chg-penguinmails-2-1-0", "Release notes", "Faster bounce processing"} {
		if !strings.Contains(page, want) {
			t.Errorf("the release page does not say %q", want)
		}
	}
	// As of its creation (the timeline's first entry) the release had no gate run; now it has one per environment.
	gates := func() int {
		n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll("table.gates").length`))
		if err != nil {
			b.fail("count the gate tables", err)
		}
		return n
	}
	if now := gates(); now < 2 {
		t.Errorf("the release page shows %d gate runs, want development's and staging's at least", now)
	}
	b.do("the release as created", submit(`ol.timeline li:first-child a`), chromedp.WaitVisible(chromedp.CSS(`p.asof`)))
	if then := gates(); then != 0 {
		t.Errorf("as of its creation the release page shows %d gate runs, want none", then)
	}
	b.checkNoDialogs()
}

// browser is headless Chromium for one test, with screenshots kept in
// $FLOE_ARTIFACTS (default e2e/artifacts/browser) and every JavaScript
// dialog recorded (a script that should not have run).
type browser struct {
	t         *testing.T
	ctx       context.Context
	artifacts string
	dialogs   *sync.Map
}

func newBrowser(t *testing.T, ctx context.Context) *browser {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("Debian's chromium is not installed (make browser installs it): %v", err)
	}
	artifacts := os.Getenv("FLOE_ARTIFACTS")
	if artifacts == "" {
		artifacts = filepath.Join("artifacts", "browser")
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1366, 900))...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	b := &browser{t: t, ctx: bctx, artifacts: artifacts, dialogs: &sync.Map{}}
	// Any dialog (alert, confirm) is a script that ran: recorded, closed, and the test fails.
	go func() {
		for ev, err := range chromedp.Events(bctx, page.JavascriptDialogOpening) {
			if err != nil {
				return
			}
			b.dialogs.Store(ev.Message, true)
			_, _ = chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	t.Cleanup(func() { t.Logf("screenshots in %s", artifacts) })
	return b
}

// submit clicks a form's button (or a link) and waits until the page it
// leads to has replaced this one. Waiting for an element alone is not enough: the page
// being left may have one too (a notice from the last action), and the test
// would go on to read the old page.
func submit(css string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`document.documentElement.dataset.leaving = "yes"; true`)(ctx, tg)
			return err
		}),
		chromedp.Click(chromedp.CSS(css)),
		chromedp.WaitNotPresent(chromedp.CSS(`html[data-leaving]`)),
		chromedp.WaitReady(chromedp.CSS(`body`)),
	)
}

// shot saves a screenshot of the whole page as <name>.png.
func (b *browser) shot(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		buf, err := chromedp.FullScreenshot(100)(ctx, tg) // 100: PNG
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(b.artifacts, name+".png"), buf, 0o644)
	})
}

// fail stops the test with the page's HTML and a screenshot.
func (b *browser) fail(what string, err error) {
	b.t.Helper()
	html, _ := chromedp.Run(b.ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	_ = chromedp.Do(b.ctx, b.shot("failed-"+strings.ReplaceAll(what, " ", "-")))
	b.t.Fatalf("%s: %v\npage:\n%s", what, err, html)
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.fail(what, err)
	}
}

func (b *browser) text(what, css string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(css)))
	if err != nil {
		b.fail(what, err)
	}
	return strings.TrimSpace(v)
}

// poll reads css until ok says so: the page may be reloading itself (a
// live update) between two reads, which is not a failure.
func (b *browser) poll(what, css string, within time.Duration, ok func(string) bool) {
	b.t.Helper()
	last := ""
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		rctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		v, err := chromedp.Run(rctx, chromedp.Text(chromedp.CSS(css)))
		cancel()
		if err == nil {
			if last = strings.TrimSpace(v); ok(last) {
				return
			}
		}
	}
	b.fail(what, fmt.Errorf("after %s it reads %q", within, last))
}

func (b *browser) checkNoDialogs() {
	b.dialogs.Range(func(k, _ any) bool {
		b.t.Errorf("a script ran in the console and opened a dialog: %v", k)
		return true
	})
}
