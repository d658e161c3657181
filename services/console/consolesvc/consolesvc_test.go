package consolesvc_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/libs/testkit"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/change/changesvc"
	"github.com/penguinmails/floe/services/console/consolesvc"
	"github.com/penguinmails/floe/services/console/internal/web"
	"github.com/penguinmails/floe/services/release/releasesvc"
)

// world is the release service and the console in one process on a real
// embedded JetStream; the console calls the release service's gRPC API.
type world struct {
	*testkit.Process
	t    *testing.T
	base string
}

func startWorld(t *testing.T) *world {
	t.Helper()
	p := testkit.Start(t, testkit.Options{
		Users: map[string][]auth.RoleBinding{
			"alice": testkit.Roles(auth.RoleDeveloper), "carol": testkit.Roles(auth.RoleQA), "grace": testkit.Roles(auth.RoleSupport),
			"dave": testkit.Roles(auth.RoleOperations), "frank": testkit.Roles(auth.RoleProduct),
		},
		Entries: func() []service.Entry {
			return []service.Entry{service.Of(releasesvc.Service, releasesvc.Config{}), service.Of(changesvc.Service, changesvc.Config{}),
				service.Of(consolesvc.Service, consolesvc.Config{Addr: "127.0.0.1:0"})}
		},
	})
	c, ok := p.Handles["console"].(*consolesvc.Console)
	if !ok || c.Addr == "" {
		t.Fatalf("console handle %#v", p.Handles["console"])
	}
	return &world{Process: p, t: t, base: "http://" + c.Addr}
}

// browser is a cookie-keeping client that does not follow redirects.
func (w *world) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (w *world) do(c *http.Client, method, path string, form url.Values, header map[string]string) (*http.Response, string) {
	w.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, w.base+path, body)
	if err != nil {
		w.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (w *world) signIn(user string) *http.Client {
	w.t.Helper()
	c := w.browser()
	resp, body := w.do(c, "POST", "/signin", url.Values{"token": {w.Token(user)}, "next": {"/releases"}}, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/releases" {
		w.t.Fatalf("sign in as %s: %d %s\n%s", user, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	return c
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (w *world) release(id string) *releasev1.Release {
	w.t.Helper()
	resp, err := releasev1.NewReleaseServiceClient(w.Conn("alice")).GetRelease(testkit.Context(w.t), &releasev1.GetReleaseRequest{ReleaseId: id})
	if err != nil {
		w.t.Fatal(err)
	}
	return resp.GetRelease()
}

func approvals(r *releasev1.Release, env string) int {
	for _, e := range r.GetEnvironments() {
		if e.GetEnvironment() == env {
			return len(e.GetApprovals())
		}
	}
	return -1
}

// TestConsole: signing in, the security of every page and form (session
// cookie, CSP, CSRF, cross-site posts, escaping of user input), and an
// approval made through the console with the signed-in user's rights —
// refused for a user without them, with the service's reason — seen live
// by another browser over server-sent events.
func TestConsole(t *testing.T) {
	w := startWorld(t)
	const hostile = `<script>alert(1)</script>`
	created, err := releasev1.NewReleaseServiceClient(w.Conn("alice")).CreateRelease(testkit.Context(t), &releasev1.CreateReleaseRequest{
		Product: "penguinmails", Version: "2.1.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MINOR, Title: hostile,
		Changes: []*releasev1.Change{{Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: `"><img src=x onerror=alert(2)>`}},
	})
	if err != nil {
		t.Fatal(err)
	}
	id := created.GetRelease().GetId()

	// Signed out: every page sends the browser to sign in, and a form post is refused.
	anon := w.browser()
	if resp, _ := w.do(anon, "GET", "/releases/"+id, nil, nil); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin?next=") {
		t.Errorf("signed out: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, _ := w.do(anon, "POST", "/releases/"+id+"/approve", url.Values{"env": {"staging"}}, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("signed-out post: %d", resp.StatusCode)
	}
	// A bad token is refused with the reason, and no cookie is set.
	if resp, body := w.do(anon, "POST", "/signin", url.Values{"token": {"not-a-token"}}, nil); resp.StatusCode != http.StatusUnauthorized ||
		!strings.Contains(body, "Sign-in refused") || len(resp.Cookies()) != 0 {
		t.Errorf("bad token: %d cookies %v\n%s", resp.StatusCode, resp.Cookies(), body)
	}
	// An off-site next is not followed.
	c := w.browser()
	if resp, _ := w.do(c, "POST", "/signin", url.Values{"token": {w.Token("carol")}, "next": {"//evil.example/x"}}, nil); resp.Header.Get("Location") != "/releases" {
		t.Errorf("sign-in with an off-site next redirects to %q", resp.Header.Get("Location"))
	}

	carol := w.signIn("carol")
	u, _ := url.Parse(w.base)
	var session *http.Cookie
	for _, ck := range carol.Jar.Cookies(u) {
		if ck.Name == web.SessionCookie {
			session = ck
		}
	}
	if session == nil {
		t.Fatal("no session cookie")
	}
	// The cookie's attributes as the server set them.
	resp, _ := w.do(w.browser(), "POST", "/signin", url.Values{"token": {w.Token("carol")}}, nil)
	setCookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(setCookie, want) {
			t.Errorf("session cookie %q lacks %s", setCookie, want)
		}
	}

	// The list and the page show user input as text, under a strict CSP.
	resp, list := w.do(carol, "GET", "/releases", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(list, "penguinmails@2.1.0") {
		t.Fatalf("list: %d\n%s", resp.StatusCode, list)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); csp != web.CSP || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	resp, page := w.do(carol, "GET", "/releases/"+id, nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("release page: %d\n%s", resp.StatusCode, page)
	}
	for _, body := range []string{list, page} {
		if strings.Contains(body, hostile) || strings.Contains(body, "<img src=x") {
			t.Errorf("user input rendered as HTML:\n%s", body)
		}
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(page, "&lt;img src=x onerror=alert(2)&gt;") {
		t.Errorf("the title and the change are not shown as text:\n%s", page)
	}
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	csrf := m[1]

	// Another browser watches the release live.
	live := w.watch(w.signIn("carol"), "/releases/"+id+"/live")

	// Without the session's CSRF token, or from another site: refused, nothing done.
	if resp, _ := w.do(carol, "POST", "/releases/"+id+"/approve", url.Values{"env": {"staging"}, "csrf": {"forged"}}, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("approve with a forged CSRF token: %d", resp.StatusCode)
	}
	if resp, _ := w.do(carol, "POST", "/releases/"+id+"/approve", url.Values{"env": {"staging"}, "csrf": {csrf}},
		map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site approve: %d", resp.StatusCode)
	}
	if n := approvals(w.release(id), "staging"); n != 0 {
		t.Fatalf("refused posts approved: %d approvals", n)
	}

	// A user without the right: the service's refusal, shown.
	grace := w.signIn("grace")
	_, gpage := w.do(grace, "GET", "/releases/"+id, nil, nil)
	gcsrf := csrfRE.FindStringSubmatch(gpage)[1]
	// The page disables what the user may not do, saying why (the service still decides).
	if !strings.Contains(gpage, "needs release.approve in staging; your roles: support") || !strings.Contains(gpage, `disabled title="needs release.approve in staging`) {
		t.Errorf("support's page does not disable approving, with the reason:\n%s", gpage)
	}
	if strings.Contains(page, "needs release.approve in staging") || !strings.Contains(page, "needs release.promote in staging; your roles: qa") {
		t.Errorf("carol (qa) may approve staging but not promote it; her page:\n%s", page)
	}
	resp, body := w.do(grace, "POST", "/releases/"+id+"/approve", url.Values{"env": {"staging"}, "csrf": {gcsrf}, "comment": {"lgtm"}}, nil)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "PermissionDenied") {
		t.Errorf("approve as support: %d\n%s", resp.StatusCode, body)
	}

	// Carol approves staging through the console, as herself.
	resp, _ = w.do(carol, "POST", "/releases/"+id+"/approve", url.Values{"env": {"staging"}, "csrf": {csrf}, "comment": {"QA passed"}, "request_id": {"r1"}},
		map[string]string{"Origin": w.base})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", resp.StatusCode)
	}
	r := w.release(id)
	if n := approvals(r, "staging"); n != 1 {
		t.Fatalf("staging has %d approvals after the console's", n)
	}
	for _, e := range r.GetEnvironments() {
		for _, a := range e.GetApprovals() {
			if a.GetApprover() != "carol" || a.GetComment() != "QA passed" {
				t.Errorf("approval %+v; want carol's with her comment", a)
			}
		}
	}
	select {
	case ev := <-live:
		if ev != "changed" {
			t.Errorf("live event %q", ev)
		}
	case <-time.After(20 * time.Second):
		t.Error("the watching browser was not told of the approval")
	}
	// Time travel: the page as of the release's creation, before the approval, rebuilt from the log.
	hist, err := releasev1.NewReleaseServiceClient(w.Conn("alice")).GetHistory(testkit.Context(t), &releasev1.GetHistoryRequest{ReleaseId: id})
	if err != nil {
		t.Fatal(err)
	}
	createdAt := hist.GetEntries()[0].GetPosition()
	_, then := w.do(carol, "GET", fmt.Sprintf("/releases/%s?at=%d", id, createdAt), nil, nil)
	if !strings.Contains(then, fmt.Sprintf("As of log position %d", createdAt)) || strings.Contains(then, "carol: “QA passed”") ||
		strings.Contains(then, "data-live") || strings.Contains(then, `action="/releases/`+id+`/approve"`) {
		t.Errorf("the page as of the creation:\n%s", then)
	}
	_, nowPage := w.do(carol, "GET", "/releases/"+id, nil, nil)
	if !strings.Contains(nowPage, "carol: “QA passed”") {
		t.Errorf("the page now lacks the approval:\n%s", nowPage)
	}
	// A page made before a change opens its stream after it: it is told at once (it used to wait for the next change).
	stale := w.watch(carol, fmt.Sprintf("/releases/%s/live?v=%d", id, r.GetAggregateVersion()-1))
	select {
	case ev := <-stale:
		if ev != "changed" {
			t.Errorf("a stale page's stream said %q", ev)
		}
	case <-time.After(10 * time.Second):
		t.Error("a page older than the release was not told to reload")
	}
	// Signing out ends the session.
	if resp, _ := w.do(carol, "POST", "/signout", url.Values{"csrf": {csrf}}, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign out: %d", resp.StatusCode)
	}
	if resp, _ := w.do(carol, "GET", "/releases", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after signing out, the list answers %d", resp.StatusCode)
	}
}

// watch reads a server-sent event stream and passes each event's name on.
func (w *world) watch(c *http.Client, path string) <-chan string {
	w.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w.t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", w.base+path, nil)
	sc := *c
	sc.Timeout = 0
	resp, err := sc.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		w.t.Fatalf("live stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	out := make(chan string, 8)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if name, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
				out <- name
			}
		}
	}()
	return out
}

// TestConsoleChanges: change requests are listed with their text escaped;
// approving is disabled, with the reason, for a user who may not approve,
// and a user who may reaches the change service, whose answer is shown.
func TestConsoleChanges(t *testing.T) {
	w := startWorld(t)
	_, err := changev1.NewChangeServiceClient(w.Conn("alice")).Submit(testkit.Context(t), &changev1.SubmitRequest{
		Id: "chg-1", Class: changev1.ChangeClass_CHANGE_CLASS_NORMAL, Title: `Release 2.1.0 <img src=x onerror=alert(1)>`, Description: "Campaign scheduling",
		Type: changev1.ChangeType_CHANGE_TYPE_ENHANCEMENT, Priority: changev1.ChangePriority_CHANGE_PRIORITY_MEDIUM,
		Impact: changev1.ChangeImpact_CHANGE_IMPACT_MEDIUM, Risk: changev1.ChangeRisk_CHANGE_RISK_LOW, Environments: []string{"production"}, Releases: []string{"rel1"},
		Schedule:       &changev1.Timing{PlannedStart: timestamppb.Now(), DurationMinutes: 30},
		Implementation: &changev1.Plan{Steps: []*changev1.Step{{Description: "Canary to production", Owner: "bob", ExpectedMinutes: 20}}},
		Rollback:       &changev1.Plan{Steps: []*changev1.Step{{Description: "Roll back with the deployer"}}},
		Testing:        &changev1.Plan{Steps: []*changev1.Step{{Description: "Smoke tests"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var page string
	testkit.EventuallyWithin(t, 20*time.Second, func() error { // the change service's view catches up
		_, page = w.do(w.signIn("carol"), "GET", "/changes", nil, nil)
		if !strings.Contains(page, "chg-1") {
			return fmt.Errorf("chg-1 not listed yet")
		}
		return nil
	})
	if strings.Contains(page, "<img src=x") || !strings.Contains(page, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("the change's title is not shown as text:\n%s", page)
	}
	if !strings.Contains(page, "needs change.approve; your roles: qa") {
		t.Errorf("carol (qa) may not approve changes; her page does not say so:\n%s", page)
	}
	dave := w.signIn("dave")
	_, dpage := w.do(dave, "GET", "/changes", nil, nil)
	if strings.Contains(dpage, "needs change.approve") {
		t.Errorf("dave (operations) may approve changes; his page disables it:\n%s", dpage)
	}
	csrf := csrfRE.FindStringSubmatch(dpage)[1]
	resp, body := w.do(dave, "POST", "/changes/chg-1/approve", url.Values{"csrf": {csrf}, "as": {"operations"}, "comment": {"ok"}}, nil)
	got, gerr := changev1.NewChangeServiceClient(w.Conn("dave")).Get(testkit.Context(t), &changev1.GetRequest{ChangeId: "chg-1"})
	if gerr != nil {
		t.Fatal(gerr)
	}
	// A normal change is reviewed before it is approved: the change service refuses, and the console shows why.
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "FailedPrecondition") || len(got.GetChange().GetApprovals()) != 0 {
		t.Errorf("approving an unreviewed change: %d, %d approvals\n%s", resp.StatusCode, len(got.GetChange().GetApprovals()), body)
	}
	// Carol (qa) may not review: the page says so. Dave (operations) passes the review, then approves as
	// operations and Frank as product; Dave schedules it into a window, all from the console.
	if !strings.Contains(page, "review: needs change.review; your roles: qa") {
		t.Errorf("carol's page does not say she may not review:\n%s", page)
	}
	state := func() string {
		t.Helper()
		got, err := changev1.NewChangeServiceClient(w.Conn("dave")).Get(testkit.Context(t), &changev1.GetRequest{ChangeId: "chg-1"})
		if err != nil {
			t.Fatal(err)
		}
		return got.GetChange().GetState().String()
	}
	post := func(c *http.Client, path string, form url.Values) {
		t.Helper()
		_, pg := w.do(c, "GET", "/changes", nil, nil)
		form.Set("csrf", csrfRE.FindStringSubmatch(pg)[1])
		if resp, body := w.do(c, "POST", path, form, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST %s: %d\n%s", path, resp.StatusCode, body)
		}
	}
	post(dave, "/changes/chg-1/review", url.Values{"outcome": {"passed"}, "notes": {"plans complete"}})
	if st := state(); st != "CHANGE_STATE_PENDING_APPROVAL" {
		t.Fatalf("after the review: %s", st)
	}
	post(dave, "/changes/chg-1/approve", url.Values{"as": {"operations"}})
	post(w.signIn("frank"), "/changes/chg-1/approve", url.Values{"as": {"product"}, "comment": {"scope agreed"}})
	if st := state(); st != "CHANGE_STATE_APPROVED" {
		t.Fatalf("after two approvals: %s", st)
	}
	testkit.EventuallyWithin(t, 20*time.Second, func() error { // the list shows it approved: the schedule form
		if _, pg := w.do(dave, "GET", "/changes", nil, nil); !strings.Contains(pg, `action="/changes/chg-1/schedule"`) {
			return fmt.Errorf("no schedule form for the approved change yet")
		}
		return nil
	})
	now := time.Now().UTC()
	post(dave, "/changes/chg-1/schedule", url.Values{"start": {now.Add(-time.Minute).Format("2006-01-02T15:04")}, "end": {now.Add(2 * time.Hour).Format("2006-01-02T15:04")}})
	if st := state(); st != "CHANGE_STATE_SCHEDULED" {
		t.Errorf("after scheduling: %s", st)
	}
}
