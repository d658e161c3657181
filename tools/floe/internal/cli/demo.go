package cli

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Masterminds/semver/v3"
	"github.com/spf13/cobra"
	"google.golang.org/grpc"

	deployv1 "github.com/penguinmails/floe/proto/gen/floe/deploy/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

func newDemoCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Guided demonstrations against 'floe dev'",
	}
	cmd.AddCommand(newDemoRollbackCmd(g), newDemoJourneyCmd(g))
	return cmd
}

func newDemoRollbackCmd(g *globals) *cobra.Command {
	var (
		env, product, proxy, author, promoter string
		rps                                   int
	)
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Canary a failing demo-app version under load and watch the monitor roll it back",
		Long: `rollback shows the automated rollback end to end on 'floe dev':

  1. if nothing runs in --env yet, it releases a healthy version of --product
     and deploys it (big-bang);
  2. it sends --rps requests per second through the environment's proxy;
  3. it releases a new version tagged "-faulty" (floe dev's deployer gives such
     versions DEMOAPP_ERROR_RATE=0.2: a fifth of their requests fail) and
     promotes it with the canary strategy;
  4. it follows the deployment as 'floe deploy watch' does: the canary step,
     the monitor's error_rate trigger breaching, RollbackTriggered once the
     breach has lasted its duration (20 s in floe dev), and the rollback;
  5. it prints the traffic each version answered.

The release is created as --author and promoted as --promoter (dev users from
the credentials file; with --token both use that token).

Example:
  make run            # in one terminal
  floe demo rollback  # in another; about a minute`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRollbackDemo(cmd.Context(), g, rollbackDemo{env: env, product: product, proxy: proxy, author: author, promoter: promoter, rps: rps})
		},
	}
	cmd.Flags().StringVar(&env, "env", "development", "environment to deploy to")
	cmd.Flags().StringVar(&product, "product", "floe-demo", "product the demo releases")
	cmd.Flags().StringVar(&proxy, "proxy", "", "address of the environment's proxy (default: from the dev credentials file)")
	cmd.Flags().StringVar(&author, "author", "alice", "dev user who creates the releases")
	cmd.Flags().StringVar(&promoter, "promoter", "bob", "dev user who promotes them")
	cmd.Flags().IntVar(&rps, "rps", 20, "requests per second sent through the proxy")
	return cmd
}

type rollbackDemo struct {
	env, product, proxy, author, promoter string
	rps                                   int
}

func runRollbackDemo(ctx context.Context, g *globals, o rollbackDemo) error {
	if o.rps < 1 || o.rps > 500 {
		return fmt.Errorf("--rps %d: use 1 to 500", o.rps)
	}
	if o.proxy == "" {
		if creds, err := g.readCredentials(); err == nil {
			o.proxy = creds.Proxies[o.env]
		}
		if o.proxy == "" {
			return fmt.Errorf("no proxy address for %s: pass --proxy (is 'floe dev' running?)", o.env)
		}
	}
	authorConn, err := g.dialAs(o.author)
	if err != nil {
		return err
	}
	defer authorConn.Close()
	promoterConn, err := g.dialAs(o.promoter)
	if err != nil {
		return err
	}
	defer promoterConn.Close()
	rel, dep := releaseClient(authorConn), deployClient(promoterConn)

	// 1. A healthy version running in the environment.
	live, err := liveVersion(ctx, dep, o.env)
	if err != nil {
		return err
	}
	versions, err := productVersions(ctx, rel, o.product)
	if err != nil {
		return err
	}
	if live == "" {
		stable, typ := nextStable(versions)
		fmt.Fprintf(g.out, "Nothing runs in %s yet: releasing %s %s and deploying it (big-bang).\n", o.env, o.product, stable)
		id, err := createRelease(ctx, rel, o.product, stable, typ, "Demo: a healthy version")
		if err != nil {
			return err
		}
		d, err := promote(ctx, g, promoterConn, id, o.env, "big-bang")
		if err != nil {
			return err
		}
		if d.GetStatus() != deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED {
			return fmt.Errorf("deploying %s ended %s: %s", stable, statusWord(d.GetStatus()), d.GetReason())
		}
		live, versions = stable, append(versions, semver.MustParse(stable))
	}
	fmt.Fprintf(g.out, "%s runs %s.\n", o.env, live)

	// 2. Load through the proxy for the rest of the demo.
	load := &loadTally{counts: map[string]map[int]int{}}
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	go load.run(loadCtx, "http://"+o.proxy+"/", o.rps)
	fmt.Fprintf(g.out, "Sending %d requests/s to http://%s/.\n", o.rps, o.proxy)

	// 3. A faulty version, canaried.
	faulty := nextFaulty(versions)
	fmt.Fprintf(g.out, "Releasing %s %s (fails 20%% of requests) and promoting it to %s with a canary.\n\n", o.product, faulty, o.env)
	id, err := createRelease(ctx, rel, o.product, faulty, releasev1.ReleaseType_RELEASE_TYPE_MINOR, "Demo: a version that fails a fifth of its requests")
	if err != nil {
		return err
	}
	start := time.Now()
	d, err := promote(ctx, g, promoterConn, id, o.env, "canary")
	if err != nil {
		return err
	}
	stopLoad()
	fmt.Fprintf(g.out, "\nDeployment %s ended %s after %s", d.GetId(), strings.ToUpper(statusWord(d.GetStatus())), time.Since(start).Round(time.Second))
	if d.GetReason() != "" {
		fmt.Fprintf(g.out, ": %s", d.GetReason())
	}
	fmt.Fprintln(g.out)
	load.print(g.out)
	fmt.Fprintf(g.out, "\nWhy, from the log: floe monitor status %s   ·   floe deploy get %s   ·   floe audit verify\n", d.GetId(), d.GetId())
	return nil
}

// dialAs connects as a dev user (or with --token, as its owner).
func (g *globals) dialAs(user string) (*grpc.ClientConn, error) {
	c := *g
	if user != "" {
		c.as = user
	}
	return c.dial()
}

// liveVersion is the version the latest successful deployment left in env ("" for none).
func liveVersion(ctx context.Context, dep deployv1.DeployServiceClient, env string) (string, error) {
	resp, err := dep.ListDeployments(ctx, &deployv1.ListDeploymentsRequest{Environment: env})
	if err != nil {
		return "", err
	}
	for _, d := range resp.GetDeployments() { // newest first
		if d.GetStatus() == deployv1.DeploymentStatus_DEPLOYMENT_STATUS_SUCCEEDED {
			return d.GetVersion(), nil
		}
	}
	return "", nil
}

func productVersions(ctx context.Context, rel releasev1.ReleaseServiceClient, product string) ([]*semver.Version, error) {
	var out []*semver.Version
	token := ""
	for {
		resp, err := rel.ListReleases(ctx, &releasev1.ListReleasesRequest{Product: product, PageSize: 500, PageToken: token})
		if err != nil {
			return nil, err
		}
		for _, r := range resp.GetReleases() {
			if v, err := semver.StrictNewVersion(r.GetVersion()); err == nil {
				out = append(out, v)
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			return out, nil
		}
	}
}

// nextStable is the healthy version to release: 1.0.0, or the next patch of the latest final version.
func nextStable(versions []*semver.Version) (string, releasev1.ReleaseType) {
	final := latestFinal(versions)
	if final == nil {
		return "1.0.0", releasev1.ReleaseType_RELEASE_TYPE_MAJOR
	}
	return final.IncPatch().String(), releasev1.ReleaseType_RELEASE_TYPE_PATCH
}

// nextFaulty is a prerelease of the next minor version, tagged faulty and
// numbered by time so that it is greater than any earlier demo's.
func nextFaulty(versions []*semver.Version) string {
	core := semver.MustParse("1.1.0")
	if final := latestFinal(versions); final != nil {
		next := final.IncMinor()
		core = &next
	}
	return fmt.Sprintf("%d.%d.%d-faulty.%d", core.Major(), core.Minor(), core.Patch(), time.Now().Unix())
}

func latestFinal(versions []*semver.Version) *semver.Version {
	var best *semver.Version
	for _, v := range versions {
		if v.Prerelease() == "" && (best == nil || v.GreaterThan(best)) {
			best = v
		}
	}
	return best
}

func createRelease(ctx context.Context, rel releasev1.ReleaseServiceClient, product, version string, typ releasev1.ReleaseType, title string) (string, error) {
	resp, err := rel.CreateRelease(ctx, &releasev1.CreateReleaseRequest{Product: product, Version: version, Type: typ, Title: title,
		Changes: []*releasev1.Change{{Kind: releasev1.ChangeKind_CHANGE_KIND_FEATURE, Summary: title}}})
	if err != nil {
		return "", fmt.Errorf("create %s %s: %w", product, version, err)
	}
	return resp.GetRelease().GetId(), nil
}

// promote promotes a release and follows the deployment it starts to its end.
func promote(ctx context.Context, g *globals, conn *grpc.ClientConn, id, env, strategy string) (*deployv1.Deployment, error) {
	req := &releasev1.PromoteRequest{ReleaseId: id, Environment: env}
	strategyRequest(req, strategy)
	if _, err := releaseClient(conn).Promote(ctx, req); err != nil {
		return nil, fmt.Errorf("promote to %s: %w", env, err)
	}
	dep := deployClient(conn)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := dep.ListDeployments(ctx, &deployv1.ListDeploymentsRequest{ReleaseId: id, Environment: env})
		if err != nil {
			return nil, err
		}
		if ds := resp.GetDeployments(); len(ds) > 0 {
			d, err := watchDeployment(ctx, g, conn, ds[0].GetId())
			if err == nil && d == nil {
				err = ctx.Err()
			}
			return d, err
		}
		if time.Now().After(deadline) {
			return nil, errors.New("the deployer did not start a deployment within 30s: is it running?")
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// loadTally sends requests at a fixed rate and counts answers by version and status.
type loadTally struct {
	mu     sync.Mutex
	counts map[string]map[int]int // X-Floe-Version → status → count
	errors int
}

func (l *loadTally) run(ctx context.Context, url string, rps int) {
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(time.Second / time.Duration(rps))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			resp, err := client.Do(req)
			l.mu.Lock()
			defer l.mu.Unlock()
			if err != nil {
				if ctx.Err() == nil {
					l.errors++
				}
				return
			}
			resp.Body.Close()
			v := resp.Header.Get("X-Floe-Version")
			if v == "" {
				v = "(no version)"
			}
			if l.counts[v] == nil {
				l.counts[v] = map[int]int{}
			}
			l.counts[v][resp.StatusCode]++
		}()
	}
}

func (l *loadTally) print(w interface{ Write([]byte) (int, error) }) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(w, "Traffic answered during the demo:")
	versions := make([]string, 0, len(l.counts))
	for v := range l.counts {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	for _, v := range versions {
		total, failed := 0, 0
		for code, n := range l.counts[v] {
			total += n
			if code >= 500 {
				failed += n
			}
		}
		fmt.Fprintf(w, "  %-28s %5d requests, %4d failed (%s)\n", v, total, failed, pct(failed, total))
	}
	if l.errors > 0 {
		fmt.Fprintf(w, "  %-28s %5d requests\n", "(no answer)", l.errors)
	}
}

func pct(n, total int) string {
	if total == 0 {
		return "-"
	}
	return strconv.FormatFloat(100*float64(n)/float64(total), 'f', 1, 64) + "%"
}
