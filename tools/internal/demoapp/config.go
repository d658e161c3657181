package demoapp

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Config is demoapp's configuration. Each field has a flag and an environment
// variable; the flag wins over the variable, the variable over the default.
type Config struct {
	// Listen is the TCP address to listen on; port 0 picks a free port.
	Listen string
	// Version is reported in responses and in the X-Demoapp-Version header.
	Version string
	// ErrorRate is the share, in [0,1], of requests to / answered 500.
	ErrorRate float64
	// Latency is added to every request to /.
	Latency time.Duration
	// LatencyJitter is the upper bound of a uniformly random extra delay
	// added on top of Latency.
	LatencyJitter time.Duration
	// FailAfter delays ErrorRate: requests fail only once the process has
	// run this long (a version healthy at first that breaks later).
	FailAfter time.Duration
	// FailHealth makes /healthz answer 503.
	FailHealth bool
	// Seed seeds the failure and jitter random source; 0 means random.
	Seed int64
}

// usageError is a bad flag, argument or setting; main exits 2 for it.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// setting is one configuration knob: its flag, its environment variable, its
// built-in default and how to store a raw value into a Config.
type setting struct {
	flag, env, def, usage string
	isBool                bool
	set                   func(c *Config, raw string) error
}

var settings = []setting{
	{
		flag: "listen", env: "DEMOAPP_LISTEN", def: "127.0.0.1:8080",
		usage: "`address` to listen on; port 0 picks a free port (the ready line shows it)",
		set: func(c *Config, raw string) error {
			c.Listen = raw
			return checkListen(raw)
		},
	},
	{
		flag: "version", env: "DEMOAPP_VERSION", def: "dev",
		usage: "`version` reported in responses and the X-Demoapp-Version header",
		set: func(c *Config, raw string) error {
			c.Version = raw
			return checkVersion(raw)
		},
	},
	{
		flag: "error-rate", env: "DEMOAPP_ERROR_RATE", def: "0",
		usage: "share of requests to / answered 500, a `rate` from 0 to 1",
		set: func(c *Config, raw string) error {
			v, err := strconv.ParseFloat(strings.TrimSpace(raw), 64)
			if err != nil {
				return errors.New("not a number; want a value from 0 to 1")
			}
			c.ErrorRate = v
			return checkErrorRate(v)
		},
	},
	{
		flag: "latency", env: "DEMOAPP_LATENCY", def: "0s",
		usage: "`duration` added to every request to /",
		set: func(c *Config, raw string) error {
			d, err := parseDuration(raw)
			c.Latency = d
			return err
		},
	},
	{
		flag: "latency-jitter", env: "DEMOAPP_LATENCY_JITTER", def: "0s",
		usage: "upper bound of a uniformly random extra `duration` added on top of --latency",
		set: func(c *Config, raw string) error {
			d, err := parseDuration(raw)
			c.LatencyJitter = d
			return err
		},
	},
	{
		flag: "fail-after", env: "DEMOAPP_FAIL_AFTER", def: "0s",
		usage: "`duration` after start before --error-rate applies (0: from the start)",
		set: func(c *Config, raw string) error {
			d, err := parseDuration(raw)
			c.FailAfter = d
			return err
		},
	},
	{
		flag: "fail-health", env: "DEMOAPP_FAIL_HEALTH", def: "false", isBool: true,
		usage: "make /healthz answer 503",
		set: func(c *Config, raw string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(raw))
			if err != nil {
				return errors.New("not a boolean; want true or false")
			}
			c.FailHealth = b
			return nil
		},
	},
	{
		flag: "seed", env: "DEMOAPP_SEED", def: "0",
		usage: "`seed` of the failure/jitter random source, for reproducible runs; 0 = random",
		set: func(c *Config, raw string) error {
			v, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
			if err != nil {
				return errors.New("not an integer")
			}
			c.Seed = v
			return nil
		},
	},
}

// rawValue records a flag's text; parsing happens later, in one place, so that
// errors name both the flag and its environment variable.
type rawValue struct {
	value  string
	isBool bool
}

func (v *rawValue) String() string     { return v.value }
func (v *rawValue) Set(s string) error { v.value = s; return nil }
func (v *rawValue) IsBoolFlag() bool   { return v.isBool }

// parseConfig builds a Config from command-line args and the environment
// (looked up with getenv). Help goes to stderr and yields flag.ErrHelp; every
// other problem is a *usageError.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	fs := flag.NewFlagSet("demoapp", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	raws := make([]*rawValue, len(settings))
	for i, s := range settings {
		raws[i] = &rawValue{value: s.def, isBool: s.isBool}
		fs.Var(raws[i], s.flag, fmt.Sprintf("%s (env %s)", s.usage, s.env))
	}
	fs.Usage = func() {} // parse errors are reported by the caller, help below
	usage := func() {
		fmt.Fprintf(stderr, "Usage: demoapp [flags]\n\n"+
			"demoapp is an HTTP service for canary and rollback demos: GET / answers its\n"+
			"version, /healthz its health, /metrics Prometheus metrics, /env-digest/NAME\n"+
			"whether a variable is set and its SHA-256 (never its value). Failures and\n"+
			"latency can be injected. Every flag can also be set by environment variable;\n"+
			"the flag wins.\n\nFlags:\n")
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return Config{}, err
		}
		return Config{}, usageErrorf("%v (run demoapp -h for usage)", err)
	}
	if fs.NArg() > 0 {
		return Config{}, usageErrorf("unexpected argument %q (run demoapp -h for usage)", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })

	var cfg Config
	for i, s := range settings {
		raw, source := s.def, "default"
		switch {
		case given[s.flag]:
			raw, source = raws[i].value, "--"+s.flag
		case getenv(s.env) != "":
			raw, source = getenv(s.env), s.env
		}
		if err := s.set(&cfg, raw); err != nil {
			return Config{}, usageErrorf("bad value %q for --%s (env %s), from %s: %v", raw, s.flag, s.env, source, err)
		}
	}
	return cfg, nil
}

// validate checks a Config built in code (parseConfig already checks).
func (c Config) validate() error {
	checks := []struct {
		flag string
		err  error
	}{
		{"listen", checkListen(c.Listen)},
		{"version", checkVersion(c.Version)},
		{"error-rate", checkErrorRate(c.ErrorRate)},
		{"latency", checkDuration(c.Latency)},
		{"latency-jitter", checkDuration(c.LatencyJitter)},
		{"fail-after", checkDuration(c.FailAfter)},
	}
	for _, ch := range checks {
		if ch.err != nil {
			for _, s := range settings {
				if s.flag == ch.flag {
					return usageErrorf("bad value for --%s (env %s): %v", s.flag, s.env, ch.err)
				}
			}
		}
	}
	return nil
}

func checkListen(addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return errors.New("want host:port, for example 127.0.0.1:8080 or 127.0.0.1:0")
	}
	return nil
}

func checkVersion(v string) error {
	if v == "" {
		return errors.New("must not be empty")
	}
	if len(v) > 128 {
		return errors.New("longer than 128 characters")
	}
	for _, r := range v {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) || r > unicode.MaxASCII {
			return errors.New("must be printable ASCII without spaces")
		}
	}
	return nil
}

func checkErrorRate(v float64) error {
	if math.IsNaN(v) || v < 0 || v > 1 {
		return errors.New("must be between 0 and 1")
	}
	return nil
}

func parseDuration(raw string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(raw))
	if err != nil {
		return 0, errors.New("not a duration; want for example 250ms or 1s")
	}
	return d, checkDuration(d)
}

func checkDuration(d time.Duration) error {
	if d < 0 {
		return errors.New("must not be negative")
	}
	return nil
}
