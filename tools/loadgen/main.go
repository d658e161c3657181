// Command loadgen sends HTTP GET traffic to a URL at a fixed rate for a
// bounded time and reports status codes, errors, serving versions (from the
// X-Demoapp-Version header) and latency percentiles. Floe's canary demo and
// end-to-end tests use it to drive traffic through the local driver's proxy.
// Only loopback targets are allowed unless --allow-remote is given. Run
// `loadgen -h` for the flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	err := realMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		var ue *usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a bad flag or argument; main exits 2 for it.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// realMain parses the flags and runs the load.
func realMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if _, err := Run(ctx, cfg, stdout); err != nil {
		return fmt.Errorf("load %s: %w", cfg.URL, err)
	}
	return nil
}

// parseFlags builds a Config from the command line. Help goes to stderr and
// yields flag.ErrHelp; every other problem is a *usageError.
func parseFlags(args []string, stderr io.Writer) (Config, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // parse errors are reported by the caller, help below
	fs.StringVar(&cfg.URL, "url", "", "target `URL` of the GET requests (required; loopback only unless --allow-remote)")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, fmt.Sprintf("requests started per second, at most %d", MaxRate))
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long to send traffic; must be above 0")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, fmt.Sprintf("requests in flight at most, 1 to %d", MaxConcurrency))
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "time limit of each request")
	fs.DurationVar(&cfg.ReportEvery, "report-every", cfg.ReportEvery, "interval between reports; 0 = final report only")
	fs.StringVar(&cfg.Output, "o", cfg.Output, "report `format`: table or json (one object per line)")
	fs.StringVar(&cfg.Output, "output", cfg.Output, "same as -o")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow targets other than 127.0.0.0/8, ::1 and localhost")

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "Usage: loadgen --url URL [flags]\n\n"+
				"loadgen sends GET requests to URL at --rate for --duration and reports\n"+
				"status codes, errors, versions (X-Demoapp-Version) and latency, every\n"+
				"--report-every and at the end.\n\nFlags:\n")
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return Config{}, err
		}
		return Config{}, &usageError{fmt.Errorf("%w (run loadgen -h for usage)", err)}
	}
	if fs.NArg() > 0 {
		return Config{}, &usageError{fmt.Errorf("unexpected argument %q (run loadgen -h for usage)", fs.Arg(0))}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, &usageError{err}
	}
	return cfg, nil
}
