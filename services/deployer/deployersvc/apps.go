package deployersvc

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
	"github.com/penguinmails/floe/libs/runtime"
	"github.com/penguinmails/floe/services/deployer/internal/driver"
	execdriver "github.com/penguinmails/floe/services/deployer/internal/driver/exec"
	"github.com/penguinmails/floe/services/deployer/internal/driver/local"
)

// Several applications. A deployer deploys the top-level app (App,
// Driver, Exec, Local) and every entry of Apps, each with its own driver
// and a target per environment. Releases are of products, and an app runs
// the versions of one product: a product's releases deploy to the app that
// names it — or, when several apps name it, to all of them in step
// (driver.NewGroup: one deployment starts, shifts, checks and stops the
// version in each; the group's target is named after the product). A
// product no app names deploys to the top-level app, or is refused when
// there is none (Apps set, App empty). One deployment is active per target
// and environment, so two products deploy to production at once.

// AppFile is one application and its driver.
type AppFile struct {
	// Name names the app: its targets, its deployments' app, its leases.
	Name string `yaml:"name"`
	// Product is the product whose releases deploy to this app.
	Product string `yaml:"product"`
	// Driver is "local" (default) or "exec", configured by Local or Exec.
	Driver string    `yaml:"driver"`
	Exec   ExecFile  `yaml:"exec"`
	Local  LocalFile `yaml:"local"`
}

// Targets is what a deployer config deploys: the apps the engine knows
// (a single application or a group of a product's), how products map to
// them, and the applications that run them.
type Targets struct {
	// Default is the app of products no entry lists ("" when none).
	Default string
	// Products maps a product to its app.
	Products map[string]string
	// Apps maps an app to the applications it moves: itself, or the
	// members of a product's group.
	Apps map[string][]AppFile
}

// Names are the apps, sorted.
func (t Targets) Names() []string { return slices.Sorted(maps.Keys(t.Apps)) }

// Targets resolves and checks the config's apps.
func (f File) Targets() (Targets, error) {
	out := Targets{Products: map[string]string{}, Apps: map[string][]AppFile{}}
	var v errs.Violations
	if len(f.Apps) == 0 || f.App != "" {
		out.Default = f.AppName()
		out.Apps[out.Default] = []AppFile{{Name: out.Default, Driver: f.Driver, Exec: f.Exec, Local: f.Local}}
	}
	served := map[string][]AppFile{} // product → its apps, in order
	var order []string
	for i, a := range f.Apps {
		field := fmt.Sprintf("apps[%d]", i)
		ident.Check(&v, field+".name", a.Name)
		if _, dup := out.Apps[a.Name]; dup || slices.ContainsFunc(f.Apps[:i], func(b AppFile) bool { return b.Name == a.Name }) {
			v.Add(field+".name", "%q names another app too", a.Name)
		}
		if a.Product == "" {
			v.Add(field+".product", "is required: the product whose releases deploy to %s", a.Name)
			continue
		}
		ident.Check(&v, field+".product", a.Product)
		if _, ok := served[a.Product]; !ok {
			order = append(order, a.Product)
		}
		served[a.Product] = append(served[a.Product], a)
	}
	for _, p := range order {
		apps := served[p]
		name := apps[0].Name
		if len(apps) > 1 {
			name = p // a group is named after its product
			if _, taken := out.Apps[name]; taken || slices.ContainsFunc(f.Apps, func(a AppFile) bool { return a.Name == name }) {
				v.Add("apps", "product %s deploys to %d apps, whose group takes the product's name, which an app has already", p, len(apps))
				continue
			}
		}
		out.Products[p] = name
		out.Apps[name] = apps
	}
	if err := v.Err(); err != nil {
		return Targets{}, fmt.Errorf("deployer config: %w", err)
	}
	return out, nil
}

// drivers builds each app's driver (a group's of its members'), and the
// local drivers by application, for their proxies' addresses.
func (t Targets) drivers(rt *runtime.Runtime, lazyProxies bool) (map[string]driver.Driver, map[string]*local.Driver, error) {
	byApp := map[string]driver.Driver{}
	locals := map[string]*local.Driver{}
	for _, name := range t.Names() {
		members := t.Apps[name]
		group := make([]driver.Member, 0, len(members))
		for _, a := range members {
			d, ld, err := newDriver(a, rt, lazyProxies)
			if err != nil {
				return nil, nil, err
			}
			if ld != nil {
				locals[a.Name] = ld
			}
			group = append(group, driver.Member{App: a.Name, Driver: d})
		}
		if len(group) == 1 {
			byApp[name] = group[0].Driver
			continue
		}
		g, err := driver.NewGroup(group...)
		if err != nil {
			return nil, nil, err
		}
		byApp[name] = g
	}
	return byApp, locals, nil
}

// newDriver builds an application's driver.
func newDriver(a AppFile, rt *runtime.Runtime, lazyProxies bool) (driver.Driver, *local.Driver, error) {
	what := "app " + a.Name + ": "
	switch a.Driver {
	case "", "local":
		ld, err := local.New(local.Config{
			Command: a.Local.Command, Proxies: a.Local.Proxies, StartTimeout: a.Local.StartTimeout,
			Registerer: rt.Metrics, Logger: logWriter{rt}, LazyProxies: lazyProxies,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("%slocal driver: %w", what, err)
		}
		rt.OnShutdown("local-driver "+a.Name, ld.Close)
		return ld, ld, nil
	case "exec":
		x := a.Exec
		ed, err := execdriver.New(execdriver.Config{
			Start: x.Start, SetWeights: x.SetWeights, Check: x.Check, Stop: x.Stop, State: x.State,
			Timeout: x.Timeout, Dir: x.Dir, Env: x.Env, StateDir: x.StateDir, Logger: logWriter{rt},
		})
		if err != nil {
			return nil, nil, fmt.Errorf("%sexec driver: %w", what, err)
		}
		return ed, nil, nil
	default:
		return nil, nil, fmt.Errorf("deployer: %sdriver %q is not one of local, exec", what, a.Driver)
	}
}

// proxyConflicts names the local proxy addresses two applications both listen on.
func (t Targets) proxyConflicts() error {
	seen := map[string]string{}
	var problems []string
	for _, name := range t.Names() {
		for _, a := range t.Apps[name] {
			if a.Driver != "" && a.Driver != "local" {
				continue
			}
			for _, env := range slices.Sorted(maps.Keys(a.Local.Proxies)) {
				addr := a.Local.Proxies[env]
				if strings.HasSuffix(addr, ":0") || addr == "" {
					continue
				}
				where := a.Name + " in " + env
				if prev, ok := seen[addr]; ok {
					problems = append(problems, fmt.Sprintf("%s and %s both proxy on %s", prev, where, addr))
				}
				seen[addr] = where
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("deployer config: %s", strings.Join(problems, "; "))
	}
	return nil
}
