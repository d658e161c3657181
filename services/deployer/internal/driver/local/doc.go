// Package local is the deployer's driver for this machine: every version of
// an application runs as a local process, and every Target (one application in
// one environment) is fronted by a weighted HTTP reverse proxy that exports
// Prometheus metrics per version. It is what `floe dev`, the demo and the
// end-to-end tests use; it passes drivertest.Run.
//
// # Configuration
//
// New takes a Config and reports every problem in it at once:
//
//   - Command is the program and its arguments. Each element is a text/template
//     rendered per Start with {{.Port}}, {{.Version}}, {{.Environment}},
//     {{.App}} and {{.ReleaseID}}, e.g. []string{"./bin/demoapp", "-addr",
//     "127.0.0.1:{{.Port}}"}.
//   - Proxies maps an environment to the address its proxy listens on, e.g.
//     {"development": "127.0.0.1:7500"}. These listeners are opened by New (port
//     0 picks a free port; ProxyAddr reports it). Such a proxy fronts one
//     application: the first one started in that environment; starting another
//     application there fails. Targets in environments that are not listed get a
//     proxy on a free port of 127.0.0.1, opened by their first Start.
//   - HealthPath (default "/healthz") is what Start waits for and Check asks.
//   - StartTimeout (default 15s) bounds the wait for the first 200 from the
//     health path after a process starts.
//   - StopGrace (default 5s) is how long a process has to exit after SIGTERM
//     before it gets SIGKILL.
//   - CheckTimeout (default 2s) bounds one Check.
//   - Registerer (required) receives the proxy metrics.
//   - Logger (optional) receives the processes' output, one line per Write,
//     prefixed with the target and version ("demo@development 1.2.0 | ..."),
//     and the driver's own notes about them.
//   - Dir (optional) is the processes' working directory.
//
// # Versions as processes
//
// Start picks a free port on 127.0.0.1, renders Command, and starts the program
// with the deployer's environment plus Version.Config as environment variables,
// then Version.Secrets (the values of Config's secret references, each
// replacing its reference; revealed there and nowhere else: never logged, never
// in an error), plus FLOE_VERSION, FLOE_ARTIFACT (driver.Artifact of the
// version), FLOE_ENVIRONMENT, FLOE_APP, FLOE_RELEASE_ID and PORT (these six
// win over Version.Config). It then polls the health path until it answers
// 200; if the process exits first, or StartTimeout passes, Start stops the
// process and fails with its last lines of output. Starting a version that runs
// does nothing, even with a different Version.Config; starting a version whose
// process has exited starts a new process for it.
//
// Processes run in their own process group. Stop and Close end a process by
// sending SIGTERM to its group and, after StopGrace, SIGKILL. A process that
// exits on its own stays listed in State.Running (so the traffic split stays
// valid) and Check reports its exit status, until it is stopped or started
// again; requests routed to it are answered 502 by the proxy.
//
// Adoption is not supported: the processes are children of the deployer and
// are not found again after the deployer restarts. On Linux each is started
// with Pdeathsig SIGKILL, so it dies with the deployer instead of lingering as
// an orphan (the signal fires when the deployer's thread that started the
// process ends; Go keeps its threads for the life of the process, so in
// practice this is when the deployer dies). Pdeathsig covers the process the
// driver started, not processes that it starts in turn: a Command that is a
// wrapper (a shell, `go run`) should exec the real program. On other Unix
// systems there is no Pdeathsig and processes may outlive a deployer that dies
// without calling Close.
//
// # Proxy
//
// Each Target's proxy chooses the version of each request at random by weight
// (math/rand/v2), from a routing table that SetWeights replaces atomically, so
// changing weights never blocks or fails requests in flight. Each version has
// one httputil.ReverseProxy, reused for all its requests. Responses carry
// X-Floe-Version with the version that answered. Until weights are set the
// proxy answers 503 with a body saying so (these requests are not counted in
// the metrics, which are per version). A backend that cannot be reached is
// answered 502; a request whose client went away before the backend answered
// is counted with code 499.
//
// Metrics, labelled environment, app and version:
//
//	floe_proxy_requests_total{environment,app,version,code}      counter
//	floe_proxy_request_duration_seconds{environment,app,version} histogram, 1ms to 10s
//	floe_proxy_weight{environment,app,version}                   gauge, percent of traffic
//
// The weight gauge exists for running versions and is removed by Stop; the
// request series of a stopped version stay, as counters should.
//
// # Operations
//
// SetWeights validates the split with driver.ValidateWeights against the
// running versions. Check asks the version's process directly (not through the
// proxy) and names the status it got or the connection error. Stop refuses a
// version that still has weight, otherwise stops its process and forgets it;
// a zero weight is dropped from the split. State lists the running versions,
// sorted, and the current split.
//
// # Replicas
//
// The driver is a driver.Scaler: Scale runs more instances of a running
// version, each a process of its own on its own port started as Start starts
// the first (the same Version), or stops the extra ones (the latest first).
// The version's share of the traffic goes to its instances in turn. Check
// checks every instance and names the one that fails ("instance 2 of 3");
// Stop and Close stop them all; State reports each version's Replicas.
//
// All methods are safe for concurrent use. Start and Stop of one target are
// serialized; SetWeights, Check and State do not wait for them. Close shuts the
// proxies down and stops every process; the Driver cannot be used afterwards.
package local
