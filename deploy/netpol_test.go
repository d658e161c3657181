package deploy

import (
	"fmt"
	"net"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// endpoint is one side of a connection: a pod (its namespace and labels) or
// an address outside the cluster.
type endpoint struct {
	namespace string
	labels    map[string]string
	external  bool
	// ours: a pod of the manifests. Only their side of a connection is
	// checked: another pod's own policies are not the chart's.
	ours bool
}

func (e endpoint) String() string {
	if e.external {
		return "the internet"
	}
	return fmt.Sprintf("%s/%v", e.namespace, e.labels)
}

func labelSelector(m map[string]string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: m}
}

// namespaceLabels are the labels Kubernetes gives every namespace.
func namespaceLabels(ns string) map[string]string {
	return map[string]string{"kubernetes.io/metadata.name": ns}
}

func hasType(p *networkingv1.NetworkPolicy, typ networkingv1.PolicyType) bool {
	if len(p.Spec.PolicyTypes) == 0 { // the API server's default
		return typ == networkingv1.PolicyTypeIngress || len(p.Spec.Egress) > 0
	}
	return slices.Contains(p.Spec.PolicyTypes, typ)
}

func peerMatches(peer networkingv1.NetworkPolicyPeer, policyNS string, e endpoint) bool {
	if peer.IPBlock != nil {
		if !e.external {
			return false // pod addresses are not what Floe's ipBlocks are for
		}
		_, cidr, err := net.ParseCIDR(peer.IPBlock.CIDR)
		return err == nil && (cidr.String() == "0.0.0.0/0" || cidr.String() == "::/0")
	}
	if e.external {
		return false
	}
	if peer.NamespaceSelector == nil {
		if e.namespace != policyNS {
			return false
		}
	} else if !selectorMatches(peer.NamespaceSelector, namespaceLabels(e.namespace)) {
		return false
	}
	return peer.PodSelector == nil || selectorMatches(peer.PodSelector, e.labels)
}

func portMatches(ports []networkingv1.NetworkPolicyPort, port int32, proto corev1.Protocol) bool {
	if len(ports) == 0 {
		return true
	}
	for _, p := range ports {
		pp := corev1.ProtocolTCP
		if p.Protocol != nil {
			pp = *p.Protocol
		}
		if pp != proto {
			continue
		}
		if p.Port == nil {
			return true
		}
		if p.Port.Type == intstr.Int && (p.Port.IntVal == port || (p.EndPort != nil && p.Port.IntVal <= port && port <= *p.EndPort)) {
			return true
		}
	}
	return false
}

// allowed says whether the policies let src open a connection to dst on
// port: src's egress and dst's ingress must both allow it (a side no
// policy of that type selects allows everything; outside the namespace
// nothing is selected by these policies).
func allowed(pols []*networkingv1.NetworkPolicy, src, dst endpoint, port int32, proto corev1.Protocol) bool {
	side := func(pod, peer endpoint, typ networkingv1.PolicyType) bool {
		if pod.external || !pod.ours {
			return true
		}
		selected := false
		for _, p := range pols {
			if p.Namespace != pod.namespace || !hasType(p, typ) || !selectorMatches(&p.Spec.PodSelector, pod.labels) {
				continue
			}
			selected = true
			if typ == networkingv1.PolicyTypeIngress {
				for _, r := range p.Spec.Ingress {
					if portMatches(r.Ports, port, proto) && (len(r.From) == 0 || slices.ContainsFunc(r.From, func(x networkingv1.NetworkPolicyPeer) bool { return peerMatches(x, p.Namespace, peer) })) {
						return true
					}
				}
			} else {
				for _, r := range p.Spec.Egress {
					if portMatches(r.Ports, port, proto) && (len(r.To) == 0 || slices.ContainsFunc(r.To, func(x networkingv1.NetworkPolicyPeer) bool { return peerMatches(x, p.Namespace, peer) })) {
						return true
					}
				}
			}
		}
		return !selected
	}
	return side(src, dst, networkingv1.PolicyTypeEgress) && side(dst, src, networkingv1.PolicyTypeIngress)
}

// checkNetworkPolicies: everything is denied by default, and each pod may
// make and take exactly the connections Floe needs.
func checkNetworkPolicies(t *testing.T, m manifests, v variant) {
	var defaultDeny bool
	for _, p := range m.policies {
		if len(p.Spec.PodSelector.MatchLabels) == 0 && len(p.Spec.PodSelector.MatchExpressions) == 0 &&
			hasType(p, networkingv1.PolicyTypeIngress) && hasType(p, networkingv1.PolicyTypeEgress) &&
			len(p.Spec.Ingress) == 0 && len(p.Spec.Egress) == 0 {
			defaultDeny = true
		}
	}
	if !defaultDeny {
		t.Errorf("no default-deny NetworkPolicy (every pod, Ingress and Egress, no rule)")
	}
	pod := map[string]endpoint{}
	for _, p := range m.pods {
		var allowing []string
		for _, pol := range m.policies {
			if pol.Namespace == p.namespace && selectorMatches(&pol.Spec.PodSelector, p.labels) && len(pol.Spec.Ingress)+len(pol.Spec.Egress) > 0 {
				allowing = append(allowing, pol.Name)
			}
		}
		if len(allowing) == 0 {
			t.Errorf("%s: no NetworkPolicy allows it anything", p.owner)
		}
		pod[p.labels["app.kubernetes.io/component"]] = endpoint{namespace: p.namespace, labels: p.labels, ours: true}
	}
	nats, ok := pod["nats"]
	if !ok {
		t.Fatalf("no NATS pod")
	}
	type conn struct {
		src, dst endpoint
		port     int32
		proto    corev1.Protocol
		want     bool
		what     string
	}
	var conns []conn
	add := func(src, dst endpoint, port int32, want bool, what string) {
		conns = append(conns, conn{src, dst, port, corev1.ProtocolTCP, want, what})
	}
	for comp, e := range pod {
		conns = append(conns, conn{e, kubeDNS, 53, corev1.ProtocolUDP, true, comp + " resolves names"})
	}
	for _, svc := range services {
		e, ok := pod[svc]
		if !ok {
			t.Errorf("no pod for %s", svc)
			continue
		}
		add(e, nats, 4222, true, svc+" → NATS client port")
		add(e, nats, 6222, false, svc+" → NATS cluster port")
		add(v.grpcClient, e, 7400, true, "a gRPC client → "+svc)
		add(v.outsider, e, 7400, false, "a pod outside grpcFrom → "+svc+" gRPC")
		add(prometheus, e, 7401, true, "Prometheus → "+svc+" admin")
		add(inNamespace, e, 7401, false, "any pod → "+svc+" admin")
		add(e, theInternet, 443, svc == "notifier", svc+" → the internet (HTTPS)")
		if svc != "release" {
			add(e, pod["release"], 7400, svc == "notifier", svc+" → release gRPC")
		}
	}
	console, ok := pod["console"]
	if !ok {
		t.Fatalf("no console pod")
	}
	for _, svc := range services {
		add(console, pod[svc], 7400, true, "console → "+svc+" gRPC")
	}
	add(console, nats, 4222, false, "console → NATS client port")
	add(console, theInternet, 443, false, "console → the internet")
	add(prometheus, console, 7401, true, "Prometheus → console admin")
	add(inNamespace, console, 7401, false, "any pod → console admin")
	add(fromIngress, console, 7404, true, "the ingress → console HTTP")
	add(v.outsider, console, 7400, false, "a pod → the console's own gRPC")
	if v.allFiles { // httpFrom names the ingress namespace
		add(inNamespace, console, 7404, false, "a pod outside httpFrom → console HTTP")
	}
	add(pod["notifier"], endpoint{external: true}, 443, true, "notifier → Slack")
	add(theInternet, pod["notifier"], 7403, true, "Alertmanager or a browser → notifier HTTP")
	add(pod["monitor"], endpoint{namespace: "monitoring", labels: map[string]string{"app": "prometheus"}}, 9090, true, "monitor → Prometheus")
	add(v.grpcClient, pod["flag"], 7402, true, "an OpenFeature SDK → flag OFREP")
	add(nats, nats, 6222, true, "NATS → NATS routes")
	add(pod["gate"], nats, 8222, false, "gate → NATS monitoring")
	add(nats, nats, 4222, false, "NATS → NATS client port")
	add(prometheus, nats, 8222, true, "Prometheus → NATS monitoring")
	add(inNamespace, nats, 4222, false, "any pod → NATS client port")
	add(inNamespace, nats, 8222, false, "any pod → NATS monitoring")
	add(nats, theInternet, 443, false, "NATS → the internet")
	if job, ok := pod["create-streams"]; ok {
		add(job, nats, 4222, true, "stream job → NATS client port")
		add(job, theInternet, 443, false, "stream job → the internet")
	} else {
		t.Errorf("no stream job pod")
	}
	for _, c := range conns {
		if got := allowed(m.policies, c.src, c.dst, c.port, c.proto); got != c.want {
			t.Errorf("%s (%s → %s port %d/%s): allowed %v, want %v", c.what, c.src, c.dst, c.port, c.proto, got, c.want)
		}
	}
}
