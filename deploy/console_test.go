package deploy

import (
	"go/ast"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/penguinmails/floe/deploy/internal/chartrender"
)

// consoleRoutes are the --console-routes the console must be given: every
// floe.* proto package a service other than release registers
// (X_ServiceDesc in its source), to that service's Service. The release service is the
// console's --console-server and takes the rest.
func consoleRoutes(t *testing.T) map[string]string {
	t.Helper()
	const gen = "github.com/penguinmails/floe/proto/gen/"
	out := map[string]string{}
	for _, svc := range services {
		if svc == "release" {
			continue
		}
		for _, file := range goFiles(t, filepath.Join(repoRoot(t), "services", svc)) {
			f := parseGo(t, file)
			pkgOf := map[string]string{} // import name → proto package
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				rest, ok := strings.CutPrefix(p, gen)
				if !ok {
					continue
				}
				local := filepath.Base(p)
				if imp.Name != nil {
					local = imp.Name.Name
				}
				pkgOf[local] = strings.ReplaceAll(rest, "/", ".")
			}
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok || !strings.HasSuffix(sel.Sel.Name, "_ServiceDesc") {
					return true
				}
				// Floe's own API (not flagd.sync.v1, which flagd's clients call).
				if id, ok := sel.X.(*ast.Ident); ok && strings.HasPrefix(pkgOf[id.Name], "floe.") {
					out[pkgOf[id.Name]] = name(svc) + ":7400"
				}
				return true
			})
		}
	}
	if len(out) < len(services)-1 {
		t.Fatalf("the source scan found the packages %v: fewer than the services; the scan is broken", out)
	}
	return out
}

// checkConsole: the console's Deployment, Service and PDB, its flags (real
// flags of floe-console), no NATS and no signing key, routes to every
// service, and the OIDC and TLS settings of the variant.
func checkConsole(t *testing.T, m manifests, v variant) {
	cfg := serviceConfig(t, "console")
	d, ok := m.deployments[name("console")]
	if !ok {
		t.Fatalf("no Deployment %s", name("console"))
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != v.replicas {
		t.Errorf("replicas %v, want %d", d.Spec.Replicas, v.replicas)
	}
	pod := podTemplate{owner: "Deployment " + d.Name, namespace: d.Namespace, labels: d.Spec.Template.Labels, spec: &d.Spec.Template.Spec}
	if pdbs := m.pdbFor(pod); len(pdbs) != 1 || pdbs[0].Spec.MaxUnavailable == nil || pdbs[0].Spec.MaxUnavailable.String() != "1" {
		t.Errorf("PodDisruptionBudgets %v: want one with maxUnavailable 1", pdbs)
	}
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(d.Spec.Template.Spec.Containers))
	}
	c := d.Spec.Template.Spec.Containers[0]
	args := parseArgs(t, c.Args)
	for flag := range args {
		if _, ok := cfg.flags[flag]; !ok {
			t.Errorf("--%s is not a flag of floe-console (libs/runtime and services/console)", flag)
		}
	}
	for _, e := range c.Env {
		if strings.HasPrefix(e.Name, "FLOE_") && !cfg.env[e.Name] {
			t.Errorf("env %s is not a variable floe-console reads", e.Name)
		}
		if e.Name == "FLOE_NATS_URL" {
			t.Errorf("FLOE_NATS_URL is set: the console only calls the services' APIs")
		}
	}
	for _, flag := range []string{"nats-url", "nats-creds", "signing-key", "trust-store", "tls-cert"} {
		if val, ok := args[flag]; ok {
			t.Errorf("--%s %s: the console has no NATS identity, signs nothing and serves no gRPC outside its pod", flag, val)
		}
	}
	if len(d.Spec.Template.Spec.Volumes) > 0 {
		for _, vol := range d.Spec.Template.Spec.Volumes {
			if vol.Secret != nil && (strings.HasSuffix(vol.Secret.SecretName, "-keys") || vol.Secret.SecretName == "floe-nats-passwords" || vol.Secret.SecretName == "floe-trust-store") {
				t.Errorf("volume %s mounts Secret %s: the console needs no service's keys", vol.Name, vol.Secret.SecretName)
			}
		}
	}

	// Listening: HTTP on the Service's port, probes on the admin port.
	_, httpPort, err := net.SplitHostPort(args["console-addr"])
	if err != nil || !strings.HasPrefix(args["console-addr"], "0.0.0.0:") {
		t.Errorf("--console-addr %q: want 0.0.0.0:PORT (%v)", args["console-addr"], err)
	}
	if p, ok := containerPort(c, intstr.FromString("http")); !ok || strconv.Itoa(int(p)) != httpPort {
		t.Errorf("container port http %d, --console-addr port %s", p, httpPort)
	}
	if args["admin-addr"] != "0.0.0.0:7401" {
		t.Errorf("--admin-addr %q, want 0.0.0.0:7401 (the kubelet's probes)", args["admin-addr"])
	}
	for what, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil || p.HTTPGet.Port.String() != "admin" {
			t.Errorf("%s probe %+v: want an HTTP GET on the admin port", what, p)
		}
	}
	s, ok := m.services[name("console")]
	if !ok {
		t.Fatalf("no Service %s", name("console"))
	}
	if !selectorMatches(&metav1.LabelSelector{MatchLabels: s.Spec.Selector}, pod.labels) {
		t.Errorf("Service %s does not select the console's pods", s.Name)
	}
	if !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool {
		return p.Name == "http" && p.Port == 7404 && p.TargetPort.String() == "http"
	}) {
		t.Errorf("Service %s has no port http 7404 → http: %+v", s.Name, s.Spec.Ports)
	}
	if s.Spec.SessionAffinity != corev1.ServiceAffinityClientIP {
		t.Errorf("Service %s: sessionAffinity %q; sessions live in one instance's memory, so ClientIP", s.Name, s.Spec.SessionAffinity)
	}
	shutdown, err := time.ParseDuration(args["shutdown-timeout"])
	if grace := d.Spec.Template.Spec.TerminationGracePeriodSeconds; err != nil || grace == nil || time.Duration(*grace)*time.Second <= shutdown {
		t.Errorf("terminationGracePeriodSeconds %s is not above --shutdown-timeout %q", seconds(grace), args["shutdown-timeout"])
	}
	if !isWritableMount(c, args["data-dir"]) {
		t.Errorf("--data-dir %q is not a writable volume", args["data-dir"])
	}

	// The API: the release service by default, every other package routed to its own service.
	if got := args["console-server"]; got != name("release")+":7400" {
		t.Errorf("--console-server %q, want %s:7400", got, name("release"))
	}
	got := map[string]string{}
	for _, pair := range strings.Split(args["console-routes"], ",") {
		pkg, addr, _ := strings.Cut(pair, "=")
		got[pkg] = addr
	}
	want := consoleRoutes(t)
	for pkg, addr := range want {
		if got[pkg] != addr {
			t.Errorf("--console-routes sends %s to %q; %s serves it", pkg, got[pkg], addr)
		}
	}
	for pkg := range got {
		if _, ok := want[pkg]; !ok {
			t.Errorf("--console-routes routes %s, which no service registers", pkg)
		}
	}

	// Sign-in: tokens file from a Secret; cookies Secure (behind HTTPS).
	if _, ok := args["console-secure-cookies"]; !ok {
		t.Errorf("no --console-secure-cookies: the session cookie would travel over plain HTTP")
	}
	files := []string{"tokens-file"}
	if v.allFiles {
		files = append(files, "console-oidc-client-secret-file")
		for flag, want := range map[string]string{"console-oidc-issuer": "https://login.example.com", "console-oidc-client-id": "floe",
			"console-oidc-redirect-url": "https://floe.example.com/oidc/callback", "oidc-issuer": "https://login.example.com", "oidc-audience": "floe"} {
			if args[flag] != want {
				t.Errorf("--%s %q, want %q", flag, args[flag], want)
			}
		}
	} else {
		for _, flag := range []string{"console-oidc-issuer", "console-oidc-client-id", "console-oidc-client-secret-file"} {
			if _, ok := args[flag]; ok {
				t.Errorf("--%s with the default values, which configure no OIDC", flag)
			}
		}
	}
	if v.grpcTLS {
		if _, ok := args["peer-tls"]; !ok {
			t.Errorf("gRPC serves TLS but the console calls it without --peer-tls")
		}
		files = append(files, "peer-tls-ca")
	} else if _, ok := args["peer-tls"]; ok {
		t.Errorf("--peer-tls while the services serve plaintext")
	}
	for _, flag := range files {
		p := args[flag]
		if vol, _, ok := mountedFile(d.Spec.Template.Spec, c, p); p == "" || !ok || vol.Secret == nil {
			t.Errorf("--%s %q is not a file of a read-only Secret volume", flag, p)
		}
	}
}

// checkConsoleIngress: an Ingress only when asked for, to the console's
// Service and HTTP port, with its host and TLS Secret.
func checkConsoleIngress(t *testing.T, m manifests, v variant) {
	var ings []*networkingv1.Ingress
	for _, o := range m.all {
		if ing, ok := o.obj.(*networkingv1.Ingress); ok {
			ings = append(ings, ing)
		}
	}
	if !v.allFiles {
		if len(ings) != 0 {
			t.Errorf("%d Ingresses with the default values, which ask for none", len(ings))
		}
		return
	}
	if len(ings) != 1 {
		t.Fatalf("%d Ingresses, want the console's", len(ings))
	}
	ing := ings[0]
	if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "nginx" || len(ing.Spec.TLS) != 1 ||
		ing.Spec.TLS[0].SecretName != "floe-console-tls" || !slices.Equal(ing.Spec.TLS[0].Hosts, []string{"floe.example.com"}) {
		t.Errorf("Ingress %s: class %v, TLS %+v", ing.Name, ing.Spec.IngressClassName, ing.Spec.TLS)
	}
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != "floe.example.com" || ing.Spec.Rules[0].HTTP == nil || len(ing.Spec.Rules[0].HTTP.Paths) != 1 {
		t.Fatalf("Ingress %s rules: %+v", ing.Name, ing.Spec.Rules)
	}
	b := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service
	s, ok := m.services[name("console")]
	if b == nil || b.Name != name("console") || !ok || !slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == b.Port.Name }) {
		t.Errorf("Ingress %s sends to %+v, not a port of the console's Service", ing.Name, b)
	}
}

// TestChartConsoleRefusals: console settings that cannot work stop the
// render with a message that says what to set.
func TestChartConsoleRefusals(t *testing.T) {
	for what, tc := range map[string]struct {
		values map[string]any
		want   string
	}{
		"a client id without an issuer": {map[string]any{"console": map[string]any{"oidc": map[string]any{"clientId": "floe", "redirectURL": "https://x/oidc/callback"}}}, "needs oidc.issuer"},
		"a client id without a redirect URL": {map[string]any{"oidc": map[string]any{"issuer": "https://login.example.com", "audience": "floe"},
			"console": map[string]any{"oidc": map[string]any{"clientId": "floe"}}}, "console.oidc.redirectURL is required"},
		"an ingress without a host": {map[string]any{"console": map[string]any{"ingress": map[string]any{"enabled": true}}}, "console.ingress.host is required"},
	} {
		_, err := chartrender.Render(filepath.Join(deployRoot(t), chartrender.ChartDir), chartrender.Options{
			ReleaseName: chartrender.ReleaseName, Namespace: chartrender.Namespace, Values: tc.values})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: render error %v, want one saying %q", what, err, tc.want)
		}
	}
	// Without the console: no console objects, and the services' policies name no console.
	out, err := chartrender.Render(filepath.Join(deployRoot(t), chartrender.ChartDir), chartrender.Options{
		ReleaseName: chartrender.ReleaseName, Namespace: chartrender.Namespace, Values: map[string]any{"console": map[string]any{"enabled": false}}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "component: console") {
		t.Errorf("console.enabled false still renders console objects")
	}
}
