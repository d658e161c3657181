// Package chartrender renders the floe Helm chart with Helm's own Go code
// (the chart loader, the values coalescing and the template engine that
// `helm template` uses), and keeps the chart's copies of deploy/nats in step
// with the originals.
package chartrender

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader"
	"helm.sh/helm/v4/pkg/engine"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
)

// ModulePath is the deploy module's path, by which Root finds its directory.
const ModulePath = "github.com/penguinmails/floe/deploy"

// Default release of the committed manifests (deploy/k8s/floe.yaml).
const (
	ReleaseName = "floe"
	Namespace   = "floe"
)

// Paths inside the deploy directory.
const (
	ChartDir      = "helm/floe"
	ManifestsFile = "k8s/floe.yaml"
)

// KubeVersion is the Kubernetes version templates see as
// .Capabilities.KubeVersion. Helm's default differs between test binaries
// and others; a fixed one renders the same everywhere.
const KubeVersion = "v1.34.0"

// Header opens deploy/k8s/floe.yaml.
const Header = `# GENERATED FILE — do not edit. The floe Helm chart (deploy/helm/floe) rendered
# with its default values as release "floe" in namespace "floe", as
# ` + "`helm template floe deploy/helm/floe --namespace floe`" + ` does, by Helm's own Go
# code. Regenerate it with ` + "`cd deploy && go run ./render`" + `; a test in deploy/ fails
# while it differs from a fresh render.
#
# It holds no Secret. Create the namespace and the Secrets first
# (deploy/README.md), then: kubectl apply -n floe -f deploy/k8s/floe.yaml
`

// Root returns the deploy module's directory: dir or the nearest parent
// whose go.mod declares ModulePath.
func Root(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if data, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			if regexp.MustCompile(`(?m)^module\s+` + regexp.QuoteMeta(ModulePath) + `\s*$`).Match(data) {
				return d, nil
			}
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no directory at or above %s holds the module %s", dir, ModulePath)
		}
	}
}

// Options select a release.
type Options struct {
	ReleaseName string
	Namespace   string
	// Values are given over the chart's values.yaml (as `helm template -f`).
	Values map[string]any
}

// Render renders the chart in chartDir as `helm template` prints it: every
// manifest in install order with a "# Source:" line, then the hooks.
// NOTES.txt is left out.
func Render(chartDir string, o Options) (string, error) {
	chrt, err := loader.Load(chartDir)
	if err != nil {
		return "", fmt.Errorf("load chart %s: %w", chartDir, err)
	}
	kv, err := common.ParseKubeVersion(KubeVersion)
	if err != nil {
		return "", err
	}
	caps := common.DefaultCapabilities.Copy()
	caps.KubeVersion = *kv
	vals := o.Values
	if vals == nil {
		vals = map[string]any{}
	}
	top, err := util.ToRenderValues(chrt, vals, common.ReleaseOptions{
		Name: o.ReleaseName, Namespace: o.Namespace, Revision: 1, IsInstall: true,
	}, caps)
	if err != nil {
		return "", fmt.Errorf("values: %w", err)
	}
	var eng engine.Engine
	files, err := eng.Render(chrt, top)
	if err != nil {
		return "", fmt.Errorf("render: %w", err)
	}
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return "", fmt.Errorf("sort manifests: %w", err)
	}
	var b strings.Builder
	for _, m := range manifests {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", m.Name, m.Content)
	}
	for _, h := range hooks {
		fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
	}
	return b.String(), nil
}

// Manifests is the content of deploy/k8s/floe.yaml: the chart in root
// rendered with its default values as release "floe" in namespace "floe".
func Manifests(root string) ([]byte, error) {
	out, err := Render(filepath.Join(root, ChartDir), Options{ReleaseName: ReleaseName, Namespace: Namespace})
	if err != nil {
		return nil, err
	}
	return []byte(Header + out), nil
}

// accountsRE is deploy/nats/nats-server.conf's accounts block and the
// system account line after it: the part every node shares unchanged.
var accountsRE = regexp.MustCompile(`(?ms)^accounts \{\n.*?^\}\nsystem_account: \S+\n`)

// ChartFiles returns the files of the chart (paths relative to root) that
// are copies of deploy/nats: the accounts block of nats-server.conf and the
// two stream configurations.
func ChartFiles(root string) (map[string][]byte, error) {
	conf, err := os.ReadFile(filepath.Join(root, "nats", "nats-server.conf"))
	if err != nil {
		return nil, err
	}
	accounts := accountsRE.Find(conf)
	if accounts == nil {
		return nil, errors.New("deploy/nats/nats-server.conf: no \"accounts {\" block followed by \"system_account:\" found")
	}
	out := map[string][]byte{
		path.Join(ChartDir, "files", "nats-accounts.conf"): append([]byte(
			"# Copied from deploy/nats/nats-server.conf by `go run ./render` (deploy/); do not edit.\n"), accounts...),
	}
	for _, name := range []string{"floe-events.json", "floe-audit.json"} {
		data, err := os.ReadFile(filepath.Join(root, "nats", name))
		if err != nil {
			return nil, err
		}
		out[path.Join(ChartDir, "files", "streams", name)] = data
	}
	return out, nil
}

// Generate writes the chart's copies of deploy/nats, then renders the chart
// into deploy/k8s/floe.yaml. It returns the paths it changed.
func Generate(root string) ([]string, error) {
	files, err := ChartFiles(root)
	if err != nil {
		return nil, err
	}
	var changed []string
	write := func(rel string, data []byte) error {
		p := filepath.Join(root, filepath.FromSlash(rel))
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, data) {
			return nil
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		changed = append(changed, rel)
		return nil
	}
	for _, rel := range slices.Sorted(maps.Keys(files)) {
		if err := write(rel, files[rel]); err != nil {
			return changed, err
		}
	}
	manifests, err := Manifests(root)
	if err != nil {
		return changed, err
	}
	return changed, write(ManifestsFile, manifests)
}
