package runtime_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/pflag"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/runtime"
)

// The tests in this file use t.Setenv and so cannot run in parallel.

type nestedConfig struct {
	Inner string `env:"FLOE_TEST_INNER" flag:"inner" default:"in"`
}

type testConfig struct {
	Name     string        `env:"FLOE_TEST_NAME" flag:"name" default:"from-default" usage:"a name"`
	Count    int           `env:"FLOE_TEST_COUNT" flag:"count" default:"3"`
	Big      int64         `env:"FLOE_TEST_BIG" flag:"big"`
	Ratio    float64       `env:"FLOE_TEST_RATIO" flag:"ratio" default:"0.5"`
	Verbose  bool          `env:"FLOE_TEST_VERBOSE" flag:"verbose"`
	Timeout  time.Duration `env:"FLOE_TEST_TIMEOUT" flag:"timeout" default:"5s"`
	Tags     []string      `env:"FLOE_TEST_TAGS" flag:"tags" default:"a,b"`
	Password string        `env:"FLOE_TEST_PASSWORD" flag:"password" secret:"true"`
	Nested   nestedConfig
	NoFlag   string `env:"FLOE_TEST_NOFLAG"`
	NoEnv    string `flag:"no-env" default:"plain"`
	hidden   string // unexported fields are skipped
}

// unsetEnv removes the variables for the test, restoring them afterwards.
func unsetEnv(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		t.Setenv(n, "") // registers the restore
		os.Unsetenv(n)
	}
}

var testConfigEnv = []string{
	"FLOE_TEST_NAME", "FLOE_TEST_COUNT", "FLOE_TEST_BIG", "FLOE_TEST_RATIO", "FLOE_TEST_VERBOSE",
	"FLOE_TEST_TIMEOUT", "FLOE_TEST_TAGS", "FLOE_TEST_PASSWORD", "FLOE_TEST_INNER", "FLOE_TEST_NOFLAG",
}

func bindAndParse(t *testing.T, cfg any, args ...string) error {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.SetOutput(&strings.Builder{})
	if err := runtime.BindFlags(fs, cfg); err != nil {
		return err
	}
	return fs.Parse(args)
}

func TestBindFlagsPrecedence(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want testConfig
	}{
		{
			name: "defaults",
			want: testConfig{Name: "from-default", Count: 3, Ratio: 0.5, Timeout: 5 * time.Second, Tags: []string{"a", "b"}, Nested: nestedConfig{Inner: "in"}, NoEnv: "plain"},
		},
		{
			name: "environment beats default",
			env: map[string]string{
				"FLOE_TEST_NAME": "from-env", "FLOE_TEST_COUNT": "7", "FLOE_TEST_BIG": "9000000000", "FLOE_TEST_RATIO": "1.25",
				"FLOE_TEST_VERBOSE": "true", "FLOE_TEST_TIMEOUT": "1m30s", "FLOE_TEST_TAGS": " x, y,,z ", "FLOE_TEST_INNER": "env-inner",
				"FLOE_TEST_NOFLAG": "ignored",
			},
			want: testConfig{
				Name: "from-env", Count: 7, Big: 9000000000, Ratio: 1.25, Verbose: true, Timeout: 90 * time.Second,
				Tags: []string{"x", "y", "z"}, Nested: nestedConfig{Inner: "env-inner"}, NoEnv: "plain",
			},
		},
		{
			name: "flag beats environment",
			env:  map[string]string{"FLOE_TEST_NAME": "from-env", "FLOE_TEST_COUNT": "7", "FLOE_TEST_TIMEOUT": "1m", "FLOE_TEST_TAGS": "x", "FLOE_TEST_VERBOSE": "true"},
			args: []string{"--name=from-flag", "--count", "11", "--timeout=250ms", "--tags=p,q", "--verbose=false", "--inner=flag-inner", "--no-env=changed"},
			want: testConfig{
				Name: "from-flag", Count: 11, Ratio: 0.5, Verbose: false, Timeout: 250 * time.Millisecond,
				Tags: []string{"p", "q"}, Nested: nestedConfig{Inner: "flag-inner"}, NoEnv: "changed",
			},
		},
		{
			name: "empty environment variable counts as set",
			env:  map[string]string{"FLOE_TEST_NAME": "", "FLOE_TEST_TAGS": ""},
			want: testConfig{Count: 3, Ratio: 0.5, Timeout: 5 * time.Second, Nested: nestedConfig{Inner: "in"}, NoEnv: "plain"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unsetEnv(t, testConfigEnv...)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var got testConfig
			if err := bindAndParse(t, &got, tt.args...); err != nil {
				t.Fatalf("bind and parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(testConfig{}), cmpNilEmpty); diff != "" {
				t.Errorf("config mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

var cmpNilEmpty = cmp.Transformer("nilEmpty", func(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
})

func TestBindFlagsTypeErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		cfg  any
		args []string
		// every string must appear in the error
		want []string
	}{
		{name: "int from env", env: map[string]string{"FLOE_TEST_COUNT": "many"}, cfg: &testConfig{}, want: []string{"count", "FLOE_TEST_COUNT", `"many" is not an integer`}},
		{name: "int64 from env", env: map[string]string{"FLOE_TEST_BIG": "1e3"}, cfg: &testConfig{}, want: []string{"big", "FLOE_TEST_BIG", "not an integer"}},
		{name: "float from env", env: map[string]string{"FLOE_TEST_RATIO": "half"}, cfg: &testConfig{}, want: []string{"ratio", "FLOE_TEST_RATIO", "not a number"}},
		{name: "bool from env", env: map[string]string{"FLOE_TEST_VERBOSE": "maybe"}, cfg: &testConfig{}, want: []string{"verbose", "FLOE_TEST_VERBOSE", "not a boolean"}},
		{name: "duration from env", env: map[string]string{"FLOE_TEST_TIMEOUT": "5 minutes"}, cfg: &testConfig{}, want: []string{"timeout", "FLOE_TEST_TIMEOUT", "not a duration"}},
		{name: "nested from env", env: map[string]string{"FLOE_SHUTDOWN_TIMEOUT": "soon"}, cfg: &runtime.Base{}, want: []string{"shutdown-timeout", "FLOE_SHUTDOWN_TIMEOUT"}},
		{
			name: "bad default names the default",
			cfg: &struct {
				N int `flag:"n" default:"x"`
			}{},
			want: []string{"config n from default", "not an integer"},
		},
		{
			name: "unsupported type",
			cfg: &struct {
				M map[string]string `flag:"m"`
			}{},
			want: []string{"m", "unsupported field type map[string]string"},
		},
		{name: "not a pointer", cfg: testConfig{}, want: []string{"pointer to a struct"}},
		{name: "pointer to a non-struct", cfg: new(int), want: []string{"pointer to a struct"}},
		{name: "bad flag value", cfg: &testConfig{}, args: []string{"--timeout=forever"}, want: []string{"timeout", "forever"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			unsetEnv(t, testConfigEnv...)
			unsetEnv(t, "FLOE_SHUTDOWN_TIMEOUT")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			err := bindAndParse(t, tt.cfg, tt.args...)
			if err == nil {
				t.Fatalf("bind and parse succeeded, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestBindFlagsBaseDefaults(t *testing.T) {
	unsetEnv(t, baseEnv...)
	var got runtime.Base
	if err := bindAndParse(t, &got); err != nil {
		t.Fatal(err)
	}
	want := runtime.Base{
		Environment: "dev", GRPCAddr: "127.0.0.1:7400", AdminAddr: "127.0.0.1:7401", LogLevel: "info", LogFormat: "json",
		NATS:            runtime.NATSConfig{DataDir: ".floe", Listen: "127.0.0.1:7422"},
		Auth:            runtime.AuthConfig{OIDCRolesClaim: "floe_roles"},
		ShutdownTimeout: 20 * time.Second,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Base defaults mismatch (-want +got):\n%s", diff)
	}
}

var baseEnv = []string{
	"FLOE_ENVIRONMENT", "FLOE_GRPC_ADDR", "FLOE_ADMIN_ADDR", "FLOE_LOG_LEVEL", "FLOE_LOG_FORMAT", "FLOE_OTLP_ENDPOINT",
	"FLOE_OTLP_INSECURE", "FLOE_TLS_CERT", "FLOE_TLS_KEY", "FLOE_NATS_URL", "FLOE_NATS_CREDS", "FLOE_DATA_DIR",
	"FLOE_NATS_LISTEN", "FLOE_NATS_SYNC_ALWAYS", "FLOE_TOKENS_FILE", "FLOE_OIDC_ISSUER", "FLOE_OIDC_AUDIENCE",
	"FLOE_OIDC_JWKS_URL", "FLOE_OIDC_ROLES_CLAIM", "FLOE_SHUTDOWN_TIMEOUT",
}

func TestBindFlagsUsageNamesEnv(t *testing.T) {
	unsetEnv(t, testConfigEnv...)
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	if err := runtime.BindFlags(fs, &testConfig{}); err != nil {
		t.Fatal(err)
	}
	f := fs.Lookup("name")
	if f == nil {
		t.Fatal("no --name flag")
	}
	if want := "a name (env FLOE_TEST_NAME)"; f.Usage != want {
		t.Errorf("usage = %q, want %q", f.Usage, want)
	}
	if fs.Lookup("hidden") != nil || fs.Lookup("") != nil {
		t.Error("a flag was registered for a field without a flag tag")
	}
}

func TestMasked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  any
		want []string
	}{
		{
			name: "secret with a value is masked",
			cfg:  &testConfig{Name: "n", Password: "hunter2", Tags: []string{"a", "b"}, Timeout: time.Second, Nested: nestedConfig{Inner: "i"}},
			want: []string{"name=n", "count=0", "big=0", "ratio=0", "verbose=false", "timeout=1s", "tags=[a b]", "password=****", "inner=i", "no-env="},
		},
		{
			name: "empty secret stays empty",
			cfg:  testConfig{},
			want: []string{"name=", "count=0", "big=0", "ratio=0", "verbose=false", "timeout=0s", "tags=[]", "password=", "inner=", "no-env="},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := runtime.Masked(tt.cfg)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Masked mismatch (-want +got):\n%s", diff)
			}
			for _, line := range got {
				if strings.Contains(line, "hunter2") {
					t.Errorf("Masked leaked a secret: %q", line)
				}
			}
		})
	}
}

func validBase() runtime.Base {
	return runtime.Base{
		Environment: "test", GRPCAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", LogLevel: "info", LogFormat: "json",
		NATS:            runtime.NATSConfig{DataDir: "data", Listen: ""},
		Auth:            runtime.AuthConfig{TokensFile: "tokens.yaml"},
		ShutdownTimeout: time.Second,
	}
}

func TestBaseValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		edit       func(*runtime.Base)
		wantFields []string // nil: valid
	}{
		{name: "valid", edit: func(*runtime.Base) {}},
		{name: "upper-case log level is fine", edit: func(b *runtime.Base) { b.LogLevel = "DEBUG" }},
		{name: "external NATS needs no data dir", edit: func(b *runtime.Base) { b.NATS = runtime.NATSConfig{URL: "nats://x:4222", Listen: "garbage"} }},
		{name: "OIDC instead of tokens", edit: func(b *runtime.Base) {
			b.Auth = runtime.AuthConfig{OIDCIssuer: "https://id.example.com", OIDCAudience: "floe"}
		}},
		{
			name:       "several problems reported together",
			edit:       func(b *runtime.Base) { b.LogLevel = "loud"; b.Auth.TokensFile = "" },
			wantFields: []string{"log-level", "tokens-file"},
		},
		{
			name: "everything wrong",
			edit: func(b *runtime.Base) {
				*b = runtime.Base{GRPCAddr: "7400", AdminAddr: "", LogFormat: "xml", TLSCert: "c.pem", Auth: runtime.AuthConfig{OIDCAudience: "floe"}, NATS: runtime.NATSConfig{Listen: "nope"}}
			},
			wantFields: []string{"environment", "grpc-addr", "admin-addr", "data-dir", "nats-listen", "log-level", "log-format", "tls-cert", "tokens-file", "oidc-audience", "shutdown-timeout"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := validBase()
			tt.edit(&b)
			err := b.Validate()
			if tt.wantFields == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var ia *errs.InvalidArgumentError
			if !errors.As(err, &ia) {
				t.Fatalf("Validate() = %T %v, want a wrapped *errs.InvalidArgumentError", err, err)
			}
			var got []string
			for _, v := range ia.Violations {
				got = append(got, v.Field)
			}
			if diff := cmp.Diff(tt.wantFields, got); diff != "" {
				t.Errorf("violated fields mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// The NATS URL is printed with its passwords masked, not whole.
func TestMaskedNATSURL(t *testing.T) {
	var b runtime.Base
	b.NATS.URL = "nats://floe-release:hunter2@n1:4222,nats://floe-release:hunter2@n2:4222"
	for _, line := range runtime.Masked(&b) {
		if strings.Contains(line, "hunter2") {
			t.Errorf("Masked leaked the NATS password: %q", line)
		}
		if strings.HasPrefix(line, "nats-url=") && line != "nats-url=nats://floe-release:****@n1:4222,nats://floe-release:****@n2:4222" {
			t.Errorf("masked NATS URL %q", line)
		}
	}
}
