//go:build unix

package local

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The test binary is also the application the tests deploy: with
// FLOE_LOCALDRIVER_TEST_APP=1 in its environment it runs testApp instead of
// the tests, so the tests depend on nothing outside this package.
const appEnv = "FLOE_LOCALDRIVER_TEST_APP"

func TestMain(m *testing.M) {
	switch os.Getenv(appEnv) {
	case "1":
		os.Exit(testApp())
	case "sleep":
		os.Exit(sleeper())
	}
	os.Exit(m.Run())
}

// testApp serves on 127.0.0.1:$PORT:
//
//	/        the value of FLOE_VERSION, in the body and in X-App-Version
//	/healthz 200, or 503 with APP_UNHEALTHY=1, or 503 after the first
//	         $APP_HEALTHY_CHECKS health checks
//	/args    its arguments, one a line
//	/env     NAME=value lines of the variables named in the query (?n=PORT&n=...)
//	/child   the pid of the child it started with APP_SPAWN_CHILD=1
//	/pid     its own pid
//
// It prints "app <version> pid <pid> listening on <addr>" when ready and
// exits on SIGTERM (unless APP_IGNORE_SIGTERM=1). With
// APP_EXIT_IMMEDIATELY=<message> it prints the message to stderr and exits 3.
func testApp() int {
	version := os.Getenv("FLOE_VERSION")
	if msg := os.Getenv("APP_EXIT_IMMEDIATELY"); msg != "" {
		fmt.Println("app", version, "starting")
		fmt.Fprintln(os.Stderr, msg)
		return 3
	}
	stop := make(chan os.Signal, 1)
	if os.Getenv("APP_IGNORE_SIGTERM") == "1" {
		signal.Ignore(syscall.SIGTERM)
		signal.Notify(stop, os.Interrupt)
	} else {
		signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	}
	healthyChecks := int64(-1)
	if s := os.Getenv("APP_HEALTHY_CHECKS"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			fmt.Fprintln(os.Stderr, "APP_HEALTHY_CHECKS:", err)
			return 2
		}
		healthyChecks = n
	}
	childPid := 0
	if os.Getenv("APP_SPAWN_CHILD") == "1" {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		child := exec.Command(exe)
		child.Env = append(os.Environ(), appEnv+"=sleep")
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		childPid = child.Process.Pid
		go func() { _ = child.Wait() }() // reap it when it dies
	}

	var checks atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		n := checks.Add(1)
		if os.Getenv("APP_UNHEALTHY") == "1" || (healthyChecks >= 0 && n > healthyChecks) {
			http.Error(w, "unhealthy on purpose", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/args", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Join(os.Args[1:], "\n"))
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		names := r.URL.Query()["n"]
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(w, "%s=%s\n", n, os.Getenv(n))
		}
	})
	mux.HandleFunc("/child", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, childPid)
	})
	mux.HandleFunc("/pid", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, os.Getpid())
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-App-Version", version)
		fmt.Fprint(w, version)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:"+os.Getenv("PORT"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "listen:", err)
		return 1
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	fmt.Printf("app %s pid %d listening on %s\n", version, os.Getpid(), ln.Addr())
	<-stop
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = srv.Shutdown(ctx)
	fmt.Printf("app %s stopping\n", version)
	return 0
}

// sleeper is the child of an app started with APP_SPAWN_CHILD=1: it waits
// for a signal that ends it.
func sleeper() int {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	<-stop
	return 0
}
