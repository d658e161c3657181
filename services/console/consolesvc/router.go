package consolesvc

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	_ "google.golang.org/grpc/health" // client-side health checking (instancesConfig)
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// router is one gRPC client over several servers: each call goes to the
// server of its method's package (floe.gate.v1 → the gate service's
// address), the rest to the default. In floe dev every service shares one
// gRPC server; in the production topology each has its own (--console-routes).
type router struct {
	def    *grpc.ClientConn
	routes map[string]*grpc.ClientConn // proto package → connection
}

// parseRoutes reads --console-routes: PACKAGE=ADDR pairs separated by
// commas, where ADDR is HOST:PORT or several joined by "|" (the instances of
// one service).
func parseRoutes(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		pkg, addrs, ok := strings.Cut(pair, "=")
		pkg = strings.TrimSpace(pkg)
		if !ok || pkg == "" || strings.TrimSpace(addrs) == "" || strings.ContainsAny(pkg, "/ ") {
			return nil, fmt.Errorf("--console-routes %q: PACKAGE=HOST:PORT pairs, e.g. floe.gate.v1=10.0.0.7:7400 (or several instances: floe.gate.v1=10.0.0.7:7400|10.0.0.8:7400)", pair)
		}
		var list []string
		for _, addr := range strings.Split(addrs, "|") {
			addr = strings.TrimSpace(addr)
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return nil, fmt.Errorf("--console-routes %q: %w", pair, err)
			}
			if slices.Contains(list, addr) {
				return nil, fmt.Errorf("--console-routes %q: %s is named twice", pair, addr)
			}
			list = append(list, addr)
		}
		if _, dup := out[pkg]; dup {
			return nil, fmt.Errorf("--console-routes: %s is routed twice", pkg)
		}
		out[pkg] = strings.Join(list, "|")
	}
	return out, nil
}

// instancesConfig spreads a route's calls over its instances (round robin)
// and sends none to an instance whose gRPC health check does not say
// SERVING: a Floe process reports NOT_SERVING while it is not ready (NATS
// lost, views behind), so the console goes on with the other instances.
const instancesConfig = `{"loadBalancingConfig": [{"round_robin": {}}], "healthCheckConfig": {"serviceName": ""}}`

// newRouter connects (lazily) to every routed address with creds; def is
// the default connection.
func newRouter(def *grpc.ClientConn, routes map[string]string, creds credentials.TransportCredentials) (*router, error) {
	r := &router{def: def, routes: map[string]*grpc.ClientConn{}}
	byAddr := map[string]*grpc.ClientConn{}
	for pkg, addrs := range routes {
		c := byAddr[addrs]
		if c == nil {
			var err error
			if c, err = dialRoute(addrs, creds); err != nil {
				for _, opened := range byAddr {
					_ = opened.Close()
				}
				return nil, fmt.Errorf("console route %s=%s: %w", pkg, addrs, err)
			}
			byAddr[addrs] = c
		}
		r.routes[pkg] = c
	}
	return r, nil
}

// dialRoute connects to one address, or to several instances
// ("a:7400|b:7400") as one balanced, health-checked connection.
func dialRoute(addrs string, creds credentials.TransportCredentials) (*grpc.ClientConn, error) {
	list := strings.Split(addrs, "|")
	if len(list) == 1 {
		return grpc.NewClient("passthrough:///"+addrs, grpc.WithTransportCredentials(creds))
	}
	state := resolver.State{}
	for _, addr := range list {
		host, _, _ := net.SplitHostPort(addr)
		// ServerName: each instance's certificate is checked against its own host.
		state.Addresses = append(state.Addresses, resolver.Address{Addr: addr, ServerName: host})
	}
	res := manual.NewBuilderWithScheme("floe-instances")
	res.InitialState(state)
	return grpc.NewClient(res.Scheme()+":///instances", grpc.WithResolvers(res), grpc.WithTransportCredentials(creds),
		grpc.WithDefaultServiceConfig(instancesConfig))
}

// conn is the connection for a full method name, "/floe.gate.v1.GateService/GetGateStatus".
func (r *router) conn(method string) *grpc.ClientConn {
	svc, _, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	if i := strings.LastIndex(svc, "."); i > 0 {
		if c := r.routes[svc[:i]]; c != nil {
			return c
		}
	}
	return r.def
}

// Invoke implements grpc.ClientConnInterface.
func (r *router) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return r.conn(method).Invoke(ctx, method, args, reply, opts...)
}

// NewStream implements grpc.ClientConnInterface.
func (r *router) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return r.conn(method).NewStream(ctx, desc, method, opts...)
}

// Close closes every connection.
func (r *router) Close() error {
	seen := map[*grpc.ClientConn]bool{r.def: true}
	err := r.def.Close()
	for _, c := range r.routes {
		if !seen[c] {
			seen[c] = true
			if cerr := c.Close(); err == nil {
				err = cerr
			}
		}
	}
	return err
}
