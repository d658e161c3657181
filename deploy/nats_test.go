package deploy

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/penguinmails/floe/deploy/internal/chartrender"
)

// confVar finds the $VARIABLES a NATS configuration takes its values from
// (not the "$JS.…" subjects inside quoted strings).
var confVar = regexp.MustCompile(`[:=]\s*\$([A-Za-z_][A-Za-z0-9_]*)`)

// checkNATS: a 3-node StatefulSet whose configuration parses with the
// nats-server the code is built with, fsyncs every write, routes to the
// three nodes and has exactly deploy/nats/nats-server.conf's users.
func checkNATS(t *testing.T, m manifests, v variant) {
	sts, ok := m.statefulSets[name("nats")]
	if !ok {
		t.Fatalf("no StatefulSet %s", name("nats"))
	}
	if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 3 {
		t.Errorf("NATS replicas %v, want 3", sts.Spec.Replicas)
	}
	pod := podTemplate{owner: "StatefulSet " + sts.Name, labels: sts.Spec.Template.Labels, spec: &sts.Spec.Template.Spec}
	if pdbs := m.pdbFor(pod); len(pdbs) != 1 {
		t.Errorf("%d PodDisruptionBudgets select the NATS pods, want 1", len(pdbs))
	} else if ma := pdbs[0].Spec.MinAvailable; ma == nil || *ma != intstr.FromInt32(2) || pdbs[0].Spec.MaxUnavailable != nil {
		t.Errorf("NATS PodDisruptionBudget: minAvailable %v, maxUnavailable %v; want minAvailable 2", ma, pdbs[0].Spec.MaxUnavailable)
	}
	headless, ok := m.services[sts.Spec.ServiceName]
	if !ok || headless.Spec.ClusterIP != corev1.ClusterIPNone || !headless.Spec.PublishNotReadyAddresses ||
		!selectorMatches(labelSelector(headless.Spec.Selector), pod.labels) {
		t.Errorf("serviceName %q is not a headless Service of the NATS pods that publishes them before they are ready", sts.Spec.ServiceName)
	}
	if client, ok := m.services[name("nats")]; !ok || !slices.ContainsFunc(client.Spec.Ports, func(p corev1.ServicePort) bool { return p.Port == 4222 }) {
		t.Errorf("no client Service %s on port 4222", name("nats"))
	}
	if len(sts.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("NATS pod: %d containers, want 1", len(sts.Spec.Template.Spec.Containers))
	}
	c := sts.Spec.Template.Spec.Containers[0]

	// The configuration file the server is started with.
	cmd := append(slices.Clone(c.Command), c.Args...)
	i := slices.Index(cmd, "--config")
	if i < 0 || i+1 >= len(cmd) {
		t.Fatalf("NATS command %q has no --config FILE", cmd)
	}
	vol, key, ok := mountedFile(sts.Spec.Template.Spec, c, cmd[i+1])
	if !ok || vol.ConfigMap == nil {
		t.Fatalf("--config %s is not a file of a ConfigMap volume", cmd[i+1])
	}
	conf, ok := m.configMaps[vol.ConfigMap.Name].Data[key]
	if !ok {
		t.Fatalf("ConfigMap %s has no %s", vol.ConfigMap.Name, key)
	}

	// Every $VARIABLE comes from the pod's environment: the pod's name, or a Secret.
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	values := map[string]string{}
	for _, mv := range confVar.FindAllStringSubmatch(conf, -1) {
		vr := mv[1]
		e, ok := env[vr]
		switch {
		case !ok || e.ValueFrom == nil:
			t.Errorf("$%s of the NATS configuration is not set from the pod (env)", vr)
		case vr == "POD_NAME":
			if e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name" {
				t.Errorf("POD_NAME is not the pod's name")
			}
		case e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Key != vr:
			t.Errorf("$%s does not come from the Secret key %s", vr, vr)
		}
		values[vr] = randomHex(t)
	}
	values["POD_NAME"] = name("nats") + "-1"
	for n, val := range values {
		t.Setenv(n, val)
	}

	dir := t.TempDir()
	if v.natsTLS {
		if !strings.Contains(conf, "/etc/nats/tls/") {
			t.Fatalf("NATS TLS is on, but the configuration names no file under /etc/nats/tls/")
		}
		tlsVol, _, ok := mountedFile(sts.Spec.Template.Spec, c, "/etc/nats/tls/tls.crt")
		if !ok || tlsVol.Secret == nil {
			t.Errorf("/etc/nats/tls/tls.crt is not from a Secret volume")
		}
		writeTestCerts(t, dir)
		conf = strings.ReplaceAll(conf, "/etc/nats/tls/", dir+"/")
	}
	confPath := filepath.Join(dir, "nats.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(confPath)
	if err != nil {
		t.Fatalf("the NATS configuration does not parse: %v\n%s", err, conf)
	}
	if !opts.SyncAlways {
		t.Errorf("jetstream sync_interval is not always: acknowledged writes could be lost")
	}
	if !opts.JetStream {
		t.Errorf("JetStream is not enabled")
	}
	if opts.ServerName != values["POD_NAME"] {
		t.Errorf("server_name %q, want the pod's name %q", opts.ServerName, values["POD_NAME"])
	}
	var want []string
	for i := range 3 {
		want = append(want, fmt.Sprintf("%s-%d.%s.%s.svc.cluster.local:6222", name("nats"), i, sts.Spec.ServiceName, chartrender.Namespace))
	}
	var got []string
	for _, r := range opts.Routes {
		got = append(got, r.Host)
	}
	if !slices.Equal(got, want) {
		t.Errorf("cluster routes %q, want %q", got, want)
	}
	if opts.Cluster.Name == "" || !opts.Cluster.NoAdvertise {
		t.Errorf("cluster name %q, no_advertise %v: want a name, and clients kept to the Service", opts.Cluster.Name, opts.Cluster.NoAdvertise)
	}
	for port, want := range map[string]int{"client": opts.Port, "cluster": opts.Cluster.Port, "monitor": opts.HTTPPort} {
		if p, ok := containerPort(c, intstr.FromString(port)); !ok || int(p) != want {
			t.Errorf("container port %s is %d, the configuration's %d", port, p, want)
		}
	}
	if (opts.TLSConfig != nil) != v.natsTLS || (opts.Cluster.TLSConfig != nil) != v.natsTLS {
		t.Errorf("client TLS %v, route TLS %v; want both %v", opts.TLSConfig != nil, opts.Cluster.TLSConfig != nil, v.natsTLS)
	}
	if opts.TLSConfig != nil && opts.TLSConfig.ClientAuth == tls.RequireAndVerifyClientCert {
		t.Errorf("NATS requires client certificates, which Floe services cannot present yet")
	}
	var dataMount string
	for _, vct := range sts.Spec.VolumeClaimTemplates {
		if q, ok := vct.Spec.Resources.Requests[corev1.ResourceStorage]; !ok || q.Sign() <= 0 {
			t.Errorf("volumeClaimTemplate %s requests no storage", vct.Name)
		}
		for _, vm := range c.VolumeMounts {
			if vm.Name == vct.Name && !vm.ReadOnly {
				dataMount = vm.MountPath
			}
		}
	}
	if dataMount == "" || path.Clean(opts.StoreDir) != path.Clean(dataMount) {
		t.Errorf("JetStream store_dir %q is not the persistent volume's mount %q", opts.StoreDir, dataMount)
	}
	grace := sts.Spec.Template.Spec.TerminationGracePeriodSeconds
	if grace == nil || time.Duration(*grace)*time.Second <= opts.LameDuckDuration+opts.LameDuckGracePeriod {
		t.Errorf("terminationGracePeriodSeconds %s is not above lame duck mode's %s + %s", seconds(grace), opts.LameDuckDuration, opts.LameDuckGracePeriod)
	}
	for _, probe := range []struct {
		what string
		p    *corev1.Probe
	}{{"readiness", c.ReadinessProbe}, {"liveness", c.LivenessProbe}} {
		if probe.p == nil || probe.p.HTTPGet == nil || !strings.HasPrefix(probe.p.HTTPGet.Path, "/healthz") {
			t.Errorf("NATS has no %s probe GET /healthz", probe.what)
			continue
		}
		if p, ok := containerPort(c, probe.p.HTTPGet.Port); !ok || int(p) != opts.HTTPPort {
			t.Errorf("NATS %s probe on port %s, not the monitoring port %d", probe.what, probe.p.HTTPGet.Port.String(), opts.HTTPPort)
		}
	}

	// The same users with the same permissions as deploy/nats/nats-server.conf,
	// their passwords from the environment.
	ref := deployNATSUsers(t)
	users := map[string]*server.User{}
	for _, u := range opts.Users {
		users[u.Username] = u
		if want := values[strings.TrimPrefix(confPasswordVar(t, conf, u.Username), "$")]; u.Password != want || want == "" {
			t.Errorf("user %s: the password is not the environment's", u.Username)
		}
	}
	if !slices.Equal(sortedKeys(users), sortedKeys(ref.users)) {
		t.Errorf("NATS users %v, deploy/nats/nats-server.conf's %v", sortedKeys(users), sortedKeys(ref.users))
	}
	for n, u := range users {
		r, ok := ref.users[n]
		if !ok {
			continue
		}
		if !reflect.DeepEqual(u.Permissions, r.Permissions) {
			t.Errorf("user %s: permissions differ from deploy/nats/nats-server.conf's", n)
		}
		if (u.Account == nil) != (r.Account == nil) || (u.Account != nil && u.Account.Name != r.Account.Name) {
			t.Errorf("user %s: account differs from deploy/nats/nats-server.conf's", n)
		}
	}
	if opts.SystemAccount != ref.systemAccount {
		t.Errorf("system account %q, deploy/nats/nats-server.conf's %q", opts.SystemAccount, ref.systemAccount)
	}
}

// confPasswordVar returns the $VARIABLE of a user's password in conf.
func confPasswordVar(t *testing.T, conf, user string) string {
	t.Helper()
	re := regexp.MustCompile(`user:\s*` + regexp.QuoteMeta(user) + `\s*[,\n]\s*password:\s*(\$[A-Za-z_][A-Za-z0-9_]*)`)
	mv := re.FindStringSubmatch(conf)
	if mv == nil {
		t.Errorf("user %s: no password: $VARIABLE", user)
		return ""
	}
	return mv[1]
}

type natsUsers struct {
	users         map[string]*server.User
	systemAccount string
}

// deployNATSUsers parses deploy/nats/nats-server.conf (less its TLS block,
// whose files do not exist here, as TestDeployNATSPermissions does) with the
// environment already set.
func deployNATSUsers(t *testing.T) natsUsers {
	t.Helper()
	data := readFile(t, "deploy/nats/nats-server.conf")
	for _, mv := range confVar.FindAllSubmatch(data, -1) {
		if _, ok := os.LookupEnv(string(mv[1])); !ok {
			t.Setenv(string(mv[1]), randomHex(t))
		}
	}
	data = regexp.MustCompile(`(?s)\ntls \{.*?\n\}`).ReplaceAll(data, nil)
	p := filepath.Join(t.TempDir(), "nats-server.conf")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	opts, err := server.ProcessConfigFile(p)
	if err != nil {
		t.Fatalf("deploy/nats/nats-server.conf: %v", err)
	}
	out := natsUsers{users: map[string]*server.User{}, systemAccount: opts.SystemAccount}
	for _, u := range opts.Users {
		out.users[u.Username] = u
	}
	if len(out.users) < len(services)+2 {
		t.Fatalf("deploy/nats/nats-server.conf has %d users", len(out.users))
	}
	return out
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// writeTestCerts writes a CA (ca.crt) and a certificate for server and
// client use (tls.crt, tls.key) into dir, as the NATS TLS Secret holds them.
func writeTestCerts(t *testing.T, dir string) {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	now := time.Now()
	caKey := newKey()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "floe test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey := newKey()
	srv := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name("nats")},
		DNSNames:  []string{name("nats"), "*." + name("nats") + "-headless." + chartrender.Namespace + ".svc.cluster.local"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	for file, block := range map[string]*pem.Block{
		"ca.crt":  {Type: "CERTIFICATE", Bytes: caDER},
		"tls.crt": {Type: "CERTIFICATE", Bytes: srvDER},
		"tls.key": {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, file), pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// checkStreamsJob: the hook Job creates deploy/nats's two streams as floe-admin.
func checkStreamsJob(t *testing.T, m manifests, v variant) {
	job, ok := m.jobs[name("create-streams")]
	if !ok {
		t.Fatalf("no Job %s", name("create-streams"))
	}
	hooks := strings.Split(job.Annotations["helm.sh/hook"], ",")
	if !slices.Contains(hooks, "post-install") || !slices.Contains(hooks, "post-upgrade") {
		t.Errorf("helm.sh/hook %q, want post-install and post-upgrade", job.Annotations["helm.sh/hook"])
	}
	spec := job.Spec.Template.Spec
	if spec.RestartPolicy != corev1.RestartPolicyOnFailure && spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q", spec.RestartPolicy)
	}
	if job.Spec.BackoffLimit == nil || job.Spec.ActiveDeadlineSeconds == nil {
		t.Errorf("the Job has no backoffLimit or activeDeadlineSeconds: it could retry for ever")
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	u, err := url.Parse(env["NATS_URL"].Value)
	wantScheme := map[bool]string{false: "nats", true: "tls"}[v.natsTLS]
	if err != nil || u.Scheme != wantScheme || u.Hostname() != name("nats") || u.Port() != "4222" || u.User != nil {
		t.Errorf("NATS_URL %q, want %s://%s:4222 without credentials", env["NATS_URL"].Value, wantScheme, name("nats"))
	}
	if env["NATS_USER"].Value != "floe-admin" {
		t.Errorf("NATS_USER %q, want floe-admin", env["NATS_USER"].Value)
	}
	if pw := env["NATS_PASSWORD"].ValueFrom; pw == nil || pw.SecretKeyRef == nil || pw.SecretKeyRef.Key != "FLOE_ADMIN_NATS_PASSWORD" {
		t.Errorf("NATS_PASSWORD is not FLOE_ADMIN_NATS_PASSWORD from a Secret")
	}
	if v.natsTLS {
		if vol, _, ok := mountedFile(spec, c, env["NATS_CA"].Value); !ok || vol.Secret == nil {
			t.Errorf("NATS_CA %q is not a file of a Secret volume", env["NATS_CA"].Value)
		}
	}
	script := strings.Join(append(slices.Clone(c.Command), c.Args...), "\n")
	if !strings.Contains(script, "nats stream add --config") {
		t.Errorf("the script does not run `nats stream add --config`:\n%s", script)
	}
	for _, file := range []string{"floe-events.json", "floe-audit.json"} {
		want := readFile(t, "deploy/nats/"+file)
		var cfg struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(want, &cfg); err != nil || cfg.Name == "" {
			t.Fatalf("deploy/nats/%s: %v", file, err)
		}
		p := regexp.MustCompile(`(/\S+/)?` + regexp.QuoteMeta(file)).FindString(script)
		if !strings.HasPrefix(p, "/") {
			t.Errorf("the script reads no %s", file)
			continue
		}
		if !regexp.MustCompile(`\b` + cfg.Name + `\s+` + regexp.QuoteMeta(p)).MatchString(script) {
			t.Errorf("the script does not create %s from %s", cfg.Name, p)
		}
		vol, key, ok := mountedFile(spec, c, p)
		if !ok || vol.ConfigMap == nil {
			t.Errorf("%s is not a file of a ConfigMap volume", p)
			continue
		}
		got := m.configMaps[vol.ConfigMap.Name].Data[key]
		if !bytes.Equal(bytes.TrimRight([]byte(got), "\n"), bytes.TrimRight(want, "\n")) {
			t.Errorf("%s (ConfigMap %s) is not deploy/nats/%s", p, vol.ConfigMap.Name, file)
		}
	}
}
