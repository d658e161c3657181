package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/penguinmails/floe/deploy/internal/chartrender"
)

// variant is one set of values the chart is rendered with, and what the
// rendered objects must then show.
type variant struct {
	name     string
	values   map[string]any
	replicas int32
	natsTLS  bool
	grpcTLS  bool
	// allFiles: the values give every optional file and Secret (configs,
	// environments file, keyring, relay token, audit public key).
	allFiles bool
	// grpcClient may call the services' gRPC port; outsider may not.
	grpcClient, outsider endpoint
}

var (
	inNamespace  = endpoint{namespace: chartrender.Namespace, labels: map[string]string{"app": "some-client"}}
	fromIngress  = endpoint{namespace: "ingress", labels: map[string]string{"app": "gateway"}}
	prometheus   = endpoint{namespace: "monitoring", labels: map[string]string{"app": "prometheus"}}
	kubeDNS      = endpoint{namespace: "kube-system", labels: map[string]string{"k8s-app": "kube-dns"}}
	theInternet  = endpoint{external: true}
	defaultsCase = variant{name: "defaults", replicas: 1, grpcClient: inNamespace, outsider: fromIngress}
	// Every service at two replicas, TLS on NATS and gRPC, every optional
	// file and Secret the chart takes.
	altCase = variant{
		name: "replicas 2, TLS", replicas: 2, natsTLS: true, grpcTLS: true, allFiles: true,
		grpcClient: fromIngress, outsider: inNamespace,
		values: map[string]any{
			"tls": map[string]any{
				"nats": map[string]any{"enabled": true},
				"grpc": map[string]any{"enabled": true, "ca": "ca.crt"},
			},
			"console": map[string]any{"replicas": 2, "oidc": map[string]any{"clientId": "floe", "redirectURL": "https://floe.example.com/oidc/callback",
				"clientSecret": "floe-console-oidc"}, "ingress": map[string]any{"enabled": true, "host": "floe.example.com", "className": "nginx",
				"tlsSecretName": "floe-console-tls"}, "httpFrom": []any{map[string]any{"namespaceSelector": map[string]any{
				"matchLabels": map[string]any{"kubernetes.io/metadata.name": "ingress"}}}}},
			"environmentsFile": "environments:\n  - name: staging\n  - name: production\n    change_required: true\n",
			"secrets":          map[string]any{"secretsKeyring": "floe-secrets-keyring"},
			"oidc":             map[string]any{"issuer": "https://login.example.com", "audience": "floe", "rolesClaim": "groups"},
			"otlp":             map[string]any{"endpoint": "otel-collector.observability:4317", "insecure": true},
			"networkPolicy": map[string]any{
				"grpcFrom": []any{map[string]any{"namespaceSelector": map[string]any{
					"matchLabels": map[string]any{"kubernetes.io/metadata.name": "ingress"}}}},
			},
			"services": func() map[string]any {
				s := map[string]any{}
				for _, name := range services {
					s[name] = map[string]any{"replicas": 2}
				}
				s["gate"] = map[string]any{"replicas": 2, "config": "gates: {}\n"}
				s["deployer"] = map[string]any{"replicas": 2, "config": "app: shop\ndriver: exec\n", "dataClaim": "floe-deployer-data"}
				s["monitor"] = map[string]any{"replicas": 2, "config": "rules: /etc/floe/config/rules.yaml\n",
					"extraConfigFiles": map[string]any{"rules.yaml": "groups: []\n"}}
				s["notifier"] = map[string]any{"replicas": 2, "config": "receivers: []\n", "relayToken": true}
				s["change"] = map[string]any{"replicas": 2, "auditPublicKey": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n"}
				s["audit"] = map[string]any{"replicas": 2, "extraArgs": []any{"--checkpoint-interval=30s"}}
				return s
			}(),
		},
	}
)

var renders sync.Map // variant name → func() ([]byte, error)

// render renders the chart for v with Helm's loader and engine, once per test binary.
func render(t *testing.T, v variant) []byte {
	t.Helper()
	f, _ := renders.LoadOrStore(v.name, sync.OnceValues(func() ([]byte, error) {
		out, err := chartrender.Render(filepath.Join(deployRoot(t), chartrender.ChartDir), chartrender.Options{
			ReleaseName: chartrender.ReleaseName, Namespace: chartrender.Namespace, Values: v.values,
		})
		return []byte(out), err
	}))
	out, err := f.(func() ([]byte, error))()
	if err != nil {
		t.Fatalf("render (%s): %v", v.name, err)
	}
	return out
}

func TestChartDefaults(t *testing.T) {
	checkManifests(t, render(t, defaultsCase), defaultsCase)
}

func TestChartReplicasAndTLS(t *testing.T) {
	checkManifests(t, render(t, altCase), altCase)
}

// TestCommittedManifests checks deploy/k8s/floe.yaml itself, and that it is
// exactly a fresh render of the chart's defaults (and the chart's copies of
// deploy/nats are exact copies).
func TestCommittedManifests(t *testing.T) {
	root := deployRoot(t)
	committed, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(chartrender.ManifestsFile)))
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]byte(chartrender.Header), render(t, defaultsCase)...); !bytes.Equal(committed, want) {
		t.Errorf("deploy/%s differs from a fresh render of the chart (%s): run `go run ./render` in deploy/", chartrender.ManifestsFile, firstDiff(committed, want))
	}
	files, err := chartrender.ChartFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, rel := range sortedKeys(files) {
		got, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil || !bytes.Equal(got, files[rel]) {
			t.Errorf("deploy/%s is not the copy of deploy/nats it should be: run `go run ./render` in deploy/", rel)
		}
	}
	checkManifests(t, committed, defaultsCase)
}

func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range max(len(la), len(lb)) {
		var x, y string
		if i < len(la) {
			x = la[i]
		}
		if i < len(lb) {
			y = lb[i]
		}
		if x != y {
			return fmt.Sprintf("line %d: committed %q, render %q", i+1, x, y)
		}
	}
	return "same lines"
}

// manifests indexes the decoded objects.
type manifests struct {
	all          []object
	deployments  map[string]*appsv1.Deployment
	statefulSets map[string]*appsv1.StatefulSet
	services     map[string]*corev1.Service
	configMaps   map[string]*corev1.ConfigMap
	secrets      map[string]*corev1.Secret
	jobs         map[string]*batchv1.Job
	pdbs         []*policyv1.PodDisruptionBudget
	policies     []*networkingv1.NetworkPolicy
	pods         []podTemplate
}

// podTemplate is the pod of a Deployment, StatefulSet or Job.
type podTemplate struct {
	owner     string
	namespace string
	labels    map[string]string
	spec      *corev1.PodSpec
}

func index(t *testing.T, stream []byte) manifests {
	t.Helper()
	objs, err := decodeStream(stream)
	if err != nil {
		t.Fatalf("strict decoding: %v", err)
	}
	m := manifests{all: objs, deployments: map[string]*appsv1.Deployment{}, statefulSets: map[string]*appsv1.StatefulSet{},
		services: map[string]*corev1.Service{}, configMaps: map[string]*corev1.ConfigMap{}, secrets: map[string]*corev1.Secret{},
		jobs: map[string]*batchv1.Job{}}
	seen := map[string]bool{}
	for _, o := range objs {
		key := o.gvk.Kind + "/" + o.meta.GetName()
		if seen[key] {
			t.Errorf("%s: a second %s", o, key)
		}
		seen[key] = true
		if ns := o.meta.GetNamespace(); ns != chartrender.Namespace {
			t.Errorf("%s: namespace %q, want %q", o, ns, chartrender.Namespace)
		}
		checkName(t, o)
		for k, v := range o.meta.GetLabels() {
			if errs := validation.IsQualifiedName(k); len(errs) > 0 {
				t.Errorf("%s: label key %q: %v", o, k, errs)
			}
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				t.Errorf("%s: label %s value %q: %v", o, k, v, errs)
			}
		}
		switch x := o.obj.(type) {
		case *appsv1.Deployment:
			m.deployments[x.Name] = x
			m.pods = append(m.pods, podTemplate{o.String(), x.Namespace, x.Spec.Template.Labels, &x.Spec.Template.Spec})
			checkSelects(t, o, x.Spec.Selector, x.Spec.Template.Labels)
		case *appsv1.StatefulSet:
			m.statefulSets[x.Name] = x
			m.pods = append(m.pods, podTemplate{o.String(), x.Namespace, x.Spec.Template.Labels, &x.Spec.Template.Spec})
			checkSelects(t, o, x.Spec.Selector, x.Spec.Template.Labels)
		case *batchv1.Job:
			m.jobs[x.Name] = x
			m.pods = append(m.pods, podTemplate{o.String(), x.Namespace, x.Spec.Template.Labels, &x.Spec.Template.Spec})
		case *corev1.Service:
			m.services[x.Name] = x
		case *corev1.ConfigMap:
			m.configMaps[x.Name] = x
		case *corev1.Secret:
			m.secrets[x.Name] = x
		case *policyv1.PodDisruptionBudget:
			m.pdbs = append(m.pdbs, x)
		case *networkingv1.NetworkPolicy:
			m.policies = append(m.policies, x)
		}
	}
	return m
}

func checkName(t *testing.T, o object) {
	t.Helper()
	name := o.meta.GetName()
	errs := validation.IsDNS1123Subdomain(name)
	if o.gvk.Kind == "Service" {
		errs = validation.IsDNS1035Label(name)
	}
	if len(errs) > 0 {
		t.Errorf("%s: name %q: %v", o, name, errs)
	}
}

func checkSelects(t *testing.T, o object, sel *metav1.LabelSelector, podLabels map[string]string) {
	t.Helper()
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		t.Errorf("%s: no selector", o)
		return
	}
	if !selectorMatches(sel, podLabels) {
		t.Errorf("%s: its selector does not select its own pods", o)
	}
}

func selectorMatches(sel *metav1.LabelSelector, l map[string]string) bool {
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	return s.Matches(labels.Set(l))
}

func name(component string) string { return chartrender.ReleaseName + "-" + component }

// checkManifests runs every check on one rendered stream.
func checkManifests(t *testing.T, stream []byte, v variant) {
	m := index(t, stream)
	if t.Failed() {
		return
	}
	if len(m.secrets) > 0 {
		t.Errorf("the chart renders Secrets %v: credentials never pass through values; the operator creates them", sortedKeys(m.secrets))
	}
	t.Run("services", func(t *testing.T) { checkServices(t, m, v) })
	t.Run("console", func(t *testing.T) { checkConsole(t, m, v) })
	t.Run("console ingress", func(t *testing.T) { checkConsoleIngress(t, m, v) })
	t.Run("pods", func(t *testing.T) { checkPods(t, m) })
	t.Run("credentials", func(t *testing.T) { checkCredentials(t, m) })
	t.Run("nats", func(t *testing.T) { checkNATS(t, m, v) })
	t.Run("streams job", func(t *testing.T) { checkStreamsJob(t, m, v) })
	t.Run("network policies", func(t *testing.T) { checkNetworkPolicies(t, m, v) })
	t.Run("service objects", func(t *testing.T) { checkServiceObjects(t, m) })
}

// podOf returns the pod template a Service or PDB selector selects.
func (m manifests) podsSelectedBy(sel *metav1.LabelSelector) []podTemplate {
	var out []podTemplate
	for _, p := range m.pods {
		if selectorMatches(sel, p.labels) {
			out = append(out, p)
		}
	}
	return out
}

func (m manifests) pdbFor(p podTemplate) []*policyv1.PodDisruptionBudget {
	var out []*policyv1.PodDisruptionBudget
	for _, pdb := range m.pdbs {
		if selectorMatches(pdb.Spec.Selector, p.labels) {
			out = append(out, pdb)
		}
	}
	return out
}

// checkServices: each Floe service has its Deployment, Service and PDB, and
// its container is configured as the binary expects.
func checkServices(t *testing.T, m manifests, v variant) {
	for _, svc := range services {
		t.Run(svc, func(t *testing.T) {
			d, ok := m.deployments[name(svc)]
			if !ok {
				t.Fatalf("no Deployment %s", name(svc))
			}
			if d.Spec.Replicas == nil || *d.Spec.Replicas != v.replicas {
				t.Errorf("replicas %v, want %d", d.Spec.Replicas, v.replicas)
			}
			if slices.Contains(singleOwner, svc) && d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
				t.Errorf("strategy %q: %s must never run two instances, not even during an upgrade (Recreate)", d.Spec.Strategy.Type, svc)
			}
			pod := podTemplate{owner: "Deployment " + d.Name, namespace: d.Namespace, labels: d.Spec.Template.Labels, spec: &d.Spec.Template.Spec}
			pdbs := m.pdbFor(pod)
			if len(pdbs) != 1 {
				t.Errorf("%d PodDisruptionBudgets select its pods, want 1", len(pdbs))
			} else if mu := pdbs[0].Spec.MaxUnavailable; mu == nil || mu.String() != "1" || pdbs[0].Spec.MinAvailable != nil {
				t.Errorf("PodDisruptionBudget %s: maxUnavailable %v, minAvailable %v; want maxUnavailable 1", pdbs[0].Name, mu, pdbs[0].Spec.MinAvailable)
			}
			s, ok := m.services[name(svc)]
			if !ok {
				t.Fatalf("no Service %s", name(svc))
			}
			if !selectorMatches(&metav1.LabelSelector{MatchLabels: s.Spec.Selector}, pod.labels) || len(s.Spec.Selector) == 0 {
				t.Errorf("Service %s does not select the Deployment's pods", s.Name)
			}
			if len(d.Spec.Template.Spec.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(d.Spec.Template.Spec.Containers))
			}
			c := d.Spec.Template.Spec.Containers[0]
			checkServiceContainer(t, m, svc, d, c, v)
			wantPorts := map[string]int32{"grpc": 7400, "admin": 7401}
			if svc == "notifier" {
				wantPorts["http"] = 7403
			}
			if svc == "flag" {
				wantPorts["ofrep"] = 7402
			}
			got := map[string]int32{}
			for _, p := range s.Spec.Ports {
				got[p.Name] = p.Port
				cp, ok := containerPort(c, p.TargetPort)
				if !ok || cp != p.Port {
					t.Errorf("Service port %s (%d) targets %s, which is container port %d", p.Name, p.Port, p.TargetPort.String(), cp)
				}
			}
			for n, p := range wantPorts {
				if got[n] != p {
					t.Errorf("Service %s: port %s is %d, want %d", s.Name, n, got[n], p)
				}
			}
		})
	}
}

// parseArgs reads --flag=value and --flag arguments.
func parseArgs(t *testing.T, args []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, a := range args {
		name, ok := strings.CutPrefix(a, "--")
		if !ok {
			t.Errorf("argument %q is not a --flag", a)
			continue
		}
		val := "true"
		if n, v, ok := strings.Cut(name, "="); ok {
			name, val = n, v
		}
		if _, dup := out[name]; dup {
			t.Errorf("--%s given twice", name)
		}
		out[name] = val
	}
	return out
}

func checkServiceContainer(t *testing.T, m manifests, svc string, d *appsv1.Deployment, c corev1.Container, v variant) {
	cfg := serviceConfig(t, svc)
	if c.Name != svc {
		t.Errorf("container %q, want %q", c.Name, svc)
	}
	if len(c.Command) > 0 {
		t.Errorf("command %q: the image's entrypoint is the binary", c.Command)
	}
	args := parseArgs(t, c.Args)
	for flag := range args {
		if _, ok := cfg.flags[flag]; !ok {
			t.Errorf("--%s is not a flag of floe-%s (its flags come from the struct tags in libs/runtime and services/%s)", flag, svc, svc)
		}
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		if _, dup := env[e.Name]; dup {
			t.Errorf("env %s set twice", e.Name)
		}
		env[e.Name] = e
		if strings.HasPrefix(e.Name, "FLOE_") && !cfg.env[e.Name] {
			t.Errorf("env %s is not a variable floe-%s reads", e.Name, svc)
		}
	}
	// What the flags or their environment variables say.
	setting := func(flag string) (string, bool) {
		if v, ok := args[flag]; ok {
			return v, true
		}
		if e, ok := env[cfg.flags[flag].env]; ok {
			return e.Value, true
		}
		return cfg.flags[flag].def, false
	}
	for flag, want := range map[string]string{"grpc-addr": "0.0.0.0:7400", "admin-addr": "0.0.0.0:7401"} {
		if got, _ := setting(flag); got != want {
			t.Errorf("--%s %q, want %q", flag, got, want)
		}
	}
	_, adminPort, _ := net.SplitHostPort(must(setting("admin-addr")))
	_, grpcPort, _ := net.SplitHostPort(must(setting("grpc-addr")))
	if p, ok := containerPort(c, intstr.FromString("grpc")); !ok || strconv.Itoa(int(p)) != grpcPort {
		t.Errorf("container port grpc %d, --grpc-addr port %s", p, grpcPort)
	}

	// Probes on the admin port.
	for _, probe := range []struct {
		what string
		p    *corev1.Probe
		path string
	}{{"readiness", c.ReadinessProbe, "/readyz"}, {"liveness", c.LivenessProbe, "/healthz"}, {"startup", c.StartupProbe, "/healthz"}} {
		if probe.p == nil {
			if probe.what != "startup" {
				t.Errorf("no %s probe", probe.what)
			}
			continue
		}
		h := probe.p.HTTPGet
		if h == nil {
			t.Errorf("%s probe is not an HTTP GET", probe.what)
			continue
		}
		port, ok := containerPort(c, h.Port)
		if h.Path != probe.path || !ok || strconv.Itoa(int(port)) != adminPort {
			t.Errorf("%s probe GET %s on port %s (%d), want GET %s on the admin port %s", probe.what, h.Path, h.Port.String(), port, probe.path, adminPort)
		}
	}

	// Shutdown: the kubelet waits longer than the service may take.
	raw, _ := setting("shutdown-timeout")
	shutdown, err := time.ParseDuration(raw)
	if err != nil {
		t.Errorf("--shutdown-timeout %q: %v", raw, err)
	}
	grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil || time.Duration(*grace)*time.Second <= shutdown {
		t.Errorf("terminationGracePeriodSeconds %s is not above --shutdown-timeout %s", seconds(grace), shutdown)
	}

	// NATS: the service's own user, its password from the Secret.
	natsURL, _ := setting("nats-url")
	u, err := url.Parse(natsURL)
	if err != nil || u.User == nil {
		t.Fatalf("--nats-url %q has no user: %v", natsURL, err)
	}
	wantScheme := map[bool]string{false: "nats", true: "tls"}[v.natsTLS]
	if u.Scheme != wantScheme || u.User.Username() != "floe-"+svc || u.Hostname() != name("nats") || u.Port() != "4222" {
		t.Errorf("--nats-url %s://%s@%s, want %s://floe-%s@%s:4222", u.Scheme, u.User.Username(), u.Host, wantScheme, svc, name("nats"))
	}
	pw, _ := u.User.Password()
	ref := regexp.MustCompile(`^\$\(([A-Za-z_][A-Za-z0-9_]*)\)$`).FindStringSubmatch(pw)
	if ref == nil {
		t.Errorf("the NATS password in --nats-url is not a $(VAR) reference")
	} else if e, ok := env[ref[1]]; !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
		e.ValueFrom.SecretKeyRef.Key != "FLOE_"+strings.ToUpper(svc)+"_NATS_PASSWORD" || slices.IndexFunc(c.Env, func(x corev1.EnvVar) bool { return x.Name == ref[1] }) > slices.IndexFunc(c.Env, func(x corev1.EnvVar) bool { return x.Name == "FLOE_NATS_URL" }) {
		t.Errorf("$(%s) is not FLOE_%s_NATS_PASSWORD from a Secret, declared before FLOE_NATS_URL", ref[1], strings.ToUpper(svc))
	}
	if v.natsTLS {
		certDir, ok := env["SSL_CERT_DIR"]
		if !ok || !slices.ContainsFunc(strings.Split(certDir.Value, ":"), func(dir string) bool {
			vol, _, ok := mountedFile(d.Spec.Template.Spec, c, dir+"/ca.crt")
			return ok && vol.Secret != nil
		}) {
			t.Errorf("with NATS TLS, SSL_CERT_DIR %q names no directory holding NATS's ca.crt from a Secret", certDir.Value)
		}
	}

	// Files: credentials from Secret volumes, configuration from ConfigMaps.
	secretFiles := []string{"signing-key", "trust-store"}
	configFiles := []string{}
	if slices.Contains([]string{"release", "flag", "change"}, svc) && v.allFiles {
		configFiles = append(configFiles, "environments-file")
	}
	if _, ok := setting("tokens-file"); ok {
		secretFiles = append(secretFiles, "tokens-file")
	} else if iss, _ := setting("oidc-issuer"); iss == "" {
		t.Errorf("neither --tokens-file nor --oidc-issuer: no authenticator")
	}
	if v.grpcTLS {
		secretFiles = append(secretFiles, "tls-cert", "tls-key")
	}
	switch svc {
	case "audit":
		secretFiles = append(secretFiles, "audit-key")
	case "notifier":
		if v.allFiles {
			secretFiles = append(secretFiles, "notifier-token-file")
			configFiles = append(configFiles, "notifier-config")
		}
		if got, _ := setting("notifier-http-addr"); got != "0.0.0.0:7403" {
			t.Errorf("--notifier-http-addr %q, want 0.0.0.0:7403", got)
		}
		if got, _ := setting("notifier-release-addr"); got != name("release")+":7400" {
			t.Errorf("--notifier-release-addr %q, want the release service %s:7400", got, name("release"))
		}
		// Slack decisions go to the release service over TLS when it serves TLS.
		if _, peerTLS := args["peer-tls"]; peerTLS != v.grpcTLS {
			t.Errorf("--peer-tls %v while gRPC TLS is %v", peerTLS, v.grpcTLS)
		}
		if v.grpcTLS {
			secretFiles = append(secretFiles, "peer-tls-ca")
		}
	case "gate", "deployer", "monitor":
		if v.allFiles {
			configFiles = append(configFiles, map[string]string{"gate": "gates-file", "deployer": "deployer-config", "monitor": "monitor-config"}[svc])
		}
	case "change":
		if v.allFiles {
			configFiles = append(configFiles, "audit-public-key")
		}
	}
	if slices.Contains([]string{"flag", "deployer", "notifier"}, svc) && v.allFiles {
		secretFiles = append(secretFiles, "secrets-keyring")
	}
	for _, flag := range secretFiles {
		p, ok := setting(flag)
		if !ok || p == "" {
			t.Errorf("--%s is not set", flag)
			continue
		}
		vol, _, ok := mountedFile(d.Spec.Template.Spec, c, p)
		if !ok || vol.Secret == nil {
			t.Errorf("--%s %s is not a file of a read-only Secret volume", flag, p)
		}
	}
	for _, flag := range configFiles {
		p, ok := setting(flag)
		if !ok || p == "" {
			t.Errorf("--%s is not set", flag)
			continue
		}
		vol, key, ok := mountedFile(d.Spec.Template.Spec, c, p)
		if !ok || vol.ConfigMap == nil {
			t.Errorf("--%s %s is not a file of a read-only ConfigMap volume", flag, p)
			continue
		}
		cm, ok := m.configMaps[vol.ConfigMap.Name]
		if _, has := cm.Data[key]; !ok || !has {
			t.Errorf("--%s %s: ConfigMap %s has no key %s", flag, p, vol.ConfigMap.Name, key)
		}
	}
	if !v.allFiles {
		for _, flag := range []string{"gates-file", "deployer-config", "monitor-config", "notifier-config", "environments-file", "secrets-keyring", "audit-public-key", "notifier-token-file"} {
			if p, ok := args[flag]; ok {
				t.Errorf("--%s %s with the default values, which provide none", flag, p)
			}
		}
	}
	if got, want := must(setting("nats-replicas")), strconv.Itoa(eventsReplicas(t)); got != want {
		t.Errorf("--nats-replicas %q, want %s as deploy/nats/floe-events.json: a service that creates the event log before the stream job would make it R1", got, want)
	}
	if dataDir, _ := setting("data-dir"); !isWritableMount(c, dataDir) {
		t.Errorf("--data-dir %q is not a writable volume (the root filesystem is read-only)", dataDir)
	}
}

func must(s string, _ bool) string { return s }

func seconds(p *int64) string {
	if p == nil {
		return "unset (30s)"
	}
	return strconv.FormatInt(*p, 10) + "s"
}

// eventsReplicas is num_replicas of deploy/nats/floe-events.json.
func eventsReplicas(t *testing.T) int {
	t.Helper()
	var cfg struct {
		Replicas int `json:"num_replicas"`
	}
	if err := json.Unmarshal(readFile(t, "deploy/nats/floe-events.json"), &cfg); err != nil || cfg.Replicas == 0 {
		t.Fatalf("deploy/nats/floe-events.json: num_replicas %d: %v", cfg.Replicas, err)
	}
	return cfg.Replicas
}

func isWritableMount(c corev1.Container, dir string) bool {
	for _, vm := range c.VolumeMounts {
		if path.Clean(vm.MountPath) == path.Clean(dir) && !vm.ReadOnly {
			return true
		}
	}
	return false
}

// containerPort resolves a port number or name against the container's ports.
func containerPort(c corev1.Container, p intstr.IntOrString) (int32, bool) {
	for _, cp := range c.Ports {
		if (p.Type == intstr.String && cp.Name == p.StrVal) || (p.Type == intstr.Int && cp.ContainerPort == p.IntVal) {
			return cp.ContainerPort, true
		}
	}
	return 0, false
}

// mountedFile finds the volume that holds the file at p in the container
// (its read-only mount and, for Secret and ConfigMap volumes, the key that
// becomes the file), or false.
func mountedFile(spec corev1.PodSpec, c corev1.Container, p string) (corev1.Volume, string, bool) {
	for _, vm := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(path.Clean(p), path.Clean(vm.MountPath)+"/")
		if !ok || !vm.ReadOnly || vm.SubPath != "" {
			continue
		}
		for _, vol := range spec.Volumes {
			if vol.Name != vm.Name {
				continue
			}
			var items []corev1.KeyToPath
			switch {
			case vol.Secret != nil:
				items = vol.Secret.Items
			case vol.ConfigMap != nil:
				items = vol.ConfigMap.Items
			default:
				return vol, "", true
			}
			if len(items) == 0 {
				return vol, rel, true // every key, as a file of its name
			}
			for _, it := range items {
				if it.Path == rel {
					return vol, it.Key, true
				}
			}
		}
	}
	return corev1.Volume{}, "", false
}

// checkPods: every pod and container is hardened and bounded.
func checkPods(t *testing.T, m manifests) {
	if len(m.pods) != len(services)+3 {
		t.Errorf("%d pod templates, want %d (the services, the console, NATS, the stream job)", len(m.pods), len(services)+3)
	}
	for _, p := range m.pods {
		t.Run(p.owner, func(t *testing.T) {
			ps := p.spec.SecurityContext
			if ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot || ps.SeccompProfile == nil || ps.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("pod securityContext %+v: want runAsNonRoot and seccomp RuntimeDefault", ps)
			}
			if ps != nil && ps.RunAsUser != nil && *ps.RunAsUser == 0 {
				t.Errorf("pod runs as uid 0")
			}
			if a := p.spec.AutomountServiceAccountToken; a == nil || *a {
				t.Errorf("automountServiceAccountToken %v: no Floe pod calls the Kubernetes API", a)
			}
			if p.spec.HostNetwork || p.spec.HostPID || p.spec.HostIPC {
				t.Errorf("pod shares a host namespace")
			}
			for _, vol := range p.spec.Volumes {
				if vol.HostPath != nil {
					t.Errorf("volume %s is a hostPath", vol.Name)
				}
				if vol.Secret == nil {
					continue
				}
				// Credentials are not readable by others (a CA certificate may be).
				public := len(vol.Secret.Items) > 0 && !slices.ContainsFunc(vol.Secret.Items, func(it corev1.KeyToPath) bool { return it.Key != "ca.crt" })
				mode := int32(0o644) // the API's default
				if vol.Secret.DefaultMode != nil {
					mode = *vol.Secret.DefaultMode
				}
				if !public && mode&0o007 != 0 {
					t.Errorf("Secret volume %s: mode %#o lets every user read it", vol.Name, mode)
				}
			}
			containers := append(slices.Clone(p.spec.InitContainers), p.spec.Containers...)
			for _, c := range containers {
				checkContainer(t, *p.spec, c)
			}
		})
	}
}

func checkContainer(t *testing.T, spec corev1.PodSpec, c corev1.Container) {
	t.Helper()
	r := c.Resources
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if q, ok := r.Requests[res]; !ok || q.Sign() <= 0 {
			t.Errorf("container %s: no %s request", c.Name, res)
		}
	}
	limit, ok := r.Limits[corev1.ResourceMemory]
	if !ok || limit.Sign() <= 0 {
		t.Errorf("container %s: no memory limit", c.Name)
	} else if req := r.Requests[corev1.ResourceMemory]; limit.Cmp(req) < 0 {
		t.Errorf("container %s: memory limit %s below its request %s", c.Name, limit.String(), req.String())
	}
	if limit.Cmp(resource.MustParse("64Mi")) < 0 {
		t.Errorf("container %s: memory limit %s is too small to be meant", c.Name, limit.String())
	}
	sc := c.SecurityContext
	if sc == nil {
		t.Errorf("container %s: no securityContext", c.Name)
		return
	}
	isTrue := func(b *bool) bool { return b != nil && *b }
	if !isTrue(sc.RunAsNonRoot) && !(spec.SecurityContext != nil && isTrue(spec.SecurityContext.RunAsNonRoot)) {
		t.Errorf("container %s: runAsNonRoot not set", c.Name)
	}
	if !isTrue(sc.ReadOnlyRootFilesystem) {
		t.Errorf("container %s: readOnlyRootFilesystem not set", c.Name)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container %s: allowPrivilegeEscalation is not false", c.Name)
	}
	if isTrue(sc.Privileged) {
		t.Errorf("container %s: privileged", c.Name)
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		t.Errorf("container %s: capabilities %+v, want drop ALL and add none", c.Name, sc.Capabilities)
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil && spec.SecurityContext != nil {
		seccomp = spec.SecurityContext.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container %s: seccomp profile %+v, want RuntimeDefault", c.Name, seccomp)
	}
	for _, vm := range c.VolumeMounts {
		for _, vol := range spec.Volumes {
			if vol.Name == vm.Name && (vol.Secret != nil || vol.ConfigMap != nil) && !vm.ReadOnly {
				t.Errorf("container %s: %s (a Secret or ConfigMap) is mounted writable", c.Name, vm.MountPath)
			}
		}
	}
	if c.Image == "" || strings.HasSuffix(c.Image, ":latest") || !strings.Contains(path.Base(c.Image), ":") {
		t.Errorf("container %s: image %q has no pinned tag", c.Name, c.Image)
	}
}

var (
	// credentialName is an environment variable that holds a credential itself.
	credentialName = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|SECRET|TOKEN|KEKS|CREDENTIALS?)$`)
	// secretLooking is text no ConfigMap or env value may hold: a private
	// key, a Floe token, a password or secret given literally.
	secretLooking = regexp.MustCompile(`PRIVATE KEY|floe_[A-Za-z0-9_-]{43}|(?i)\b(?:password|passwd|secret|token)\s*[:=]\s*["']?([^\s"']+)`)
	envRef        = regexp.MustCompile(`^\$\(?[A-Za-z_][A-Za-z0-9_]*\)?$`)
)

// checkCredentials: no credential is written into the manifests: env
// values, arguments and ConfigMaps hold references to Secrets only.
func checkCredentials(t *testing.T, m manifests) {
	for _, p := range m.pods {
		for _, c := range append(slices.Clone(p.spec.InitContainers), p.spec.Containers...) {
			fromSecret := map[string]bool{}
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.Value != "" {
					t.Errorf("%s, container %s: %s has both a value and valueFrom", p.owner, c.Name, e.Name)
				}
				if e.ValueFrom != nil {
					if e.ValueFrom.SecretKeyRef != nil {
						fromSecret[e.Name] = true
					} else if credentialName.MatchString(e.Name) {
						t.Errorf("%s, container %s: %s comes from %+v, not a Secret", p.owner, c.Name, e.Name, e.ValueFrom)
					}
					continue
				}
				if credentialName.MatchString(e.Name) {
					t.Errorf("%s, container %s: %s has a literal value; credentials come from Secrets (secretKeyRef)", p.owner, c.Name, e.Name)
				}
				checkNoCredential(t, fmt.Sprintf("%s, container %s, env %s", p.owner, c.Name, e.Name), e.Value, fromSecret)
			}
			for _, a := range append(slices.Clone(c.Command), c.Args...) {
				checkNoCredential(t, fmt.Sprintf("%s, container %s, argument", p.owner, c.Name), a, nil)
			}
			for _, ef := range c.EnvFrom {
				if ef.ConfigMapRef != nil {
					t.Errorf("%s, container %s: envFrom a ConfigMap", p.owner, c.Name)
				}
			}
		}
	}
	for _, cm := range m.configMaps {
		for key, val := range cm.Data {
			if cm.Name == name("nats")+"-config" {
				// NATS's own syntax: every password is a $VARIABLE.
				for _, pw := range regexp.MustCompile(`(?m)\bpassword\s*:\s*(\S+)`).FindAllStringSubmatch(val, -1) {
					if !envRef.MatchString(strings.TrimRight(pw[1], ",}")) {
						t.Errorf("ConfigMap %s, %s: password %s is not a $VARIABLE from the environment", cm.Name, key, pw[1])
					}
				}
				continue
			}
			if c := credentialIn(val); c != "" {
				t.Errorf("ConfigMap %s, %s: %q looks like a credential", cm.Name, key, c)
			}
		}
		if len(cm.BinaryData) > 0 {
			t.Errorf("ConfigMap %s has binaryData", cm.Name)
		}
	}
}

// credentialIn returns the first credential-looking text of s, or "". A
// value that is a reference (secret://, vault://, $VAR) is not one.
func credentialIn(s string) string {
	for _, m := range secretLooking.FindAllStringSubmatchIndex(s, -1) {
		if m[2] >= 0 {
			v := s[m[2]:m[3]]
			if strings.HasPrefix(v, "secret://") || strings.HasPrefix(v, "vault://") || strings.HasPrefix(v, "$") {
				continue
			}
		}
		return s[m[0]:m[1]]
	}
	return ""
}

// checkNoCredential fails when s holds a credential: a private key, a
// token, or a URL whose password is not a $(VAR) of a Secret.
func checkNoCredential(t *testing.T, where, s string, fromSecret map[string]bool) {
	t.Helper()
	if c := credentialIn(s); c != "" {
		t.Errorf("%s: %q looks like a credential", where, c)
	}
	for _, raw := range regexp.MustCompile(`[a-z][a-z0-9+.-]*://[^\s,]+`).FindAllString(s, -1) {
		u, err := url.Parse(raw)
		if err != nil || u.User == nil {
			continue
		}
		pw, set := u.User.Password()
		if !set {
			continue
		}
		ref := regexp.MustCompile(`^\$\(([A-Za-z_][A-Za-z0-9_]*)\)$`).FindStringSubmatch(pw)
		if ref == nil || !fromSecret[ref[1]] {
			t.Errorf("%s: the URL %s://%s@… carries a password that is not $(VAR) of a variable from a Secret", where, u.Scheme, u.User.Username())
		}
	}
}

// checkServiceObjects: every Service reaches a pod, on ports it has.
func checkServiceObjects(t *testing.T, m manifests) {
	for _, s := range m.services {
		pods := m.podsSelectedBy(&metav1.LabelSelector{MatchLabels: s.Spec.Selector})
		if len(s.Spec.Selector) == 0 || len(pods) == 0 {
			t.Errorf("Service %s selects no pod", s.Name)
			continue
		}
		for _, p := range s.Spec.Ports {
			if errs := validation.IsValidPortName(p.Name); len(errs) > 0 {
				t.Errorf("Service %s: port name %q: %v", s.Name, p.Name, errs)
			}
			for _, pod := range pods {
				found := false
				for _, c := range pod.spec.Containers {
					if _, ok := containerPort(c, p.TargetPort); ok {
						found = true
					}
				}
				if !found {
					t.Errorf("Service %s: port %s targets %s, which %s does not have", s.Name, p.Name, p.TargetPort.String(), pod.owner)
				}
			}
		}
	}
	for _, p := range m.pods {
		for _, c := range p.spec.Containers {
			for _, cp := range c.Ports {
				if errs := validation.IsValidPortName(cp.Name); len(errs) > 0 {
					t.Errorf("%s: container port name %q: %v", p.owner, cp.Name, errs)
				}
			}
		}
	}
}
