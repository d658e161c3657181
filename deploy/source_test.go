package deploy

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/penguinmails/floe/deploy/internal/chartrender"
)

// services are the eight Floe service binaries (services/<name>/cmd/<name>).
var services = []string{"release", "gate", "flag", "deployer", "monitor", "notifier", "change", "audit"}

// singleOwner are the services the chart never runs two of at once, not
// even during an upgrade (Recreate): notifier, change and audit would do
// their single-owner work twice (they hold no leases yet), and a second
// deployer pod has not been tried.
var singleOwner = []string{"deployer", "notifier", "change", "audit"}

// deployRoot is the deploy module's directory; repoRoot the monorepo's.
func deployRoot(t testing.TB) string {
	t.Helper()
	root, err := chartrender.Root(".")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func repoRoot(t testing.TB) string { return filepath.Dir(deployRoot(t)) }

// binaryConfig is what a service binary reads: its flags (name → env var
// and default) and environment variables, from the struct tags of the Go
// source (libs/runtime.Base, the service's own packages, and
// libs/secrets/secretsetup where the service uses it).
type binaryConfig struct {
	flags map[string]flagTag // "grpc-addr" → {FLOE_GRPC_ADDR, 127.0.0.1:7400}
	env   map[string]bool
}

type flagTag struct{ env, def string }

var (
	configMu    sync.Mutex
	configCache = map[string]binaryConfig{}
)

// serviceConfig returns the configuration the binary floe-<name> reads.
func serviceConfig(t testing.TB, name string) binaryConfig {
	t.Helper()
	configMu.Lock()
	defer configMu.Unlock()
	if c, ok := configCache[name]; ok {
		return c
	}
	repo := repoRoot(t)
	c := binaryConfig{flags: map[string]flagTag{}, env: map[string]bool{}}
	files := []string{filepath.Join(repo, "libs", "runtime", "base.go")}
	svcFiles := goFiles(t, filepath.Join(repo, "services", name))
	if len(svcFiles) == 0 {
		t.Fatalf("no Go files under services/%s", name)
	}
	files = append(files, svcFiles...)
	if importsPath(t, svcFiles, "github.com/penguinmails/floe/libs/secrets/secretsetup") {
		files = append(files, goFiles(t, filepath.Join(repo, "libs", "secrets", "secretsetup"))...)
		// The keyring may also come from this variable (libs/secrets.KeyringEnv).
		env := stringConst(t, filepath.Join(repo, "libs", "secrets", "keyring.go"), "KeyringEnv")
		c.env[env] = true
	}
	for _, f := range files {
		for _, tag := range structTags(t, f) {
			env, flag := tag.Get("env"), tag.Get("flag")
			if env == "" && flag == "" {
				continue
			}
			if env == "" || flag == "" {
				t.Fatalf("%s: a field tagged %q has env or flag alone", f, tag)
			}
			c.env[env] = true
			c.flags[flag] = flagTag{env: env, def: tag.Get("default")}
		}
	}
	for _, must := range []string{"grpc-addr", "admin-addr", "nats-url", "signing-key", "trust-store", "shutdown-timeout"} {
		if _, ok := c.flags[must]; !ok {
			t.Fatalf("floe-%s: flag --%s not found in the source: the tag scan is broken", name, must)
		}
	}
	configCache[name] = c
	return c
}

// goFiles lists the non-test Go files under dir.
func goFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func parseGo(t testing.TB, path string) *ast.File {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func importsPath(t testing.TB, files []string, path string) bool {
	t.Helper()
	for _, p := range files {
		for _, imp := range parseGo(t, p).Imports {
			if v, _ := strconv.Unquote(imp.Path.Value); v == path {
				return true
			}
		}
	}
	return false
}

// structTags returns the tags of every struct field declared in the file.
func structTags(t testing.TB, path string) []reflect.StructTag {
	t.Helper()
	var out []reflect.StructTag
	ast.Inspect(parseGo(t, path), func(n ast.Node) bool {
		st, ok := n.(*ast.StructType)
		if !ok {
			return true
		}
		for _, f := range st.Fields.List {
			if f.Tag == nil {
				continue
			}
			s, err := strconv.Unquote(f.Tag.Value)
			if err != nil {
				t.Fatalf("%s: tag %s: %v", path, f.Tag.Value, err)
			}
			out = append(out, reflect.StructTag(s))
		}
		return true
	})
	return out
}

// stringConst returns the value of the string constant name declared in the file.
func stringConst(t testing.TB, path, name string) string {
	t.Helper()
	for _, d := range parseGo(t, path).Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for i, n := range vs.Names {
				if n.Name == name && i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						return v
					}
				}
			}
		}
	}
	t.Fatalf("%s: no string constant %s", path, name)
	return ""
}

// readFile reads a file of the repository (path relative to its root).
func readFile(t testing.TB, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
