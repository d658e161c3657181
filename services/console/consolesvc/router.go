package consolesvc

import (
	"context"
	"fmt"
	"net"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// router is one gRPC client over several servers: each call goes to the
// server of its method's package (floe.gate.v1 → the gate service's
// address), the rest to the default. In floe dev every service shares one
// gRPC server; in the production topology each has its own (--console-routes).
type router struct {
	def    *grpc.ClientConn
	routes map[string]*grpc.ClientConn // proto package → connection
}

// parseRoutes reads --console-routes: PACKAGE=ADDR pairs separated by commas.
func parseRoutes(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, pair := range strings.Split(s, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		pkg, addr, ok := strings.Cut(pair, "=")
		pkg, addr = strings.TrimSpace(pkg), strings.TrimSpace(addr)
		if !ok || pkg == "" || addr == "" || strings.ContainsAny(pkg, "/ ") {
			return nil, fmt.Errorf("--console-routes %q: PACKAGE=HOST:PORT pairs, e.g. floe.gate.v1=10.0.0.7:7400", pair)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("--console-routes %q: %w", pair, err)
		}
		if _, dup := out[pkg]; dup {
			return nil, fmt.Errorf("--console-routes: %s is routed twice", pkg)
		}
		out[pkg] = addr
	}
	return out, nil
}

// newRouter connects (lazily) to every routed address; def is the default connection.
func newRouter(def *grpc.ClientConn, routes map[string]string) (*router, error) {
	r := &router{def: def, routes: map[string]*grpc.ClientConn{}}
	byAddr := map[string]*grpc.ClientConn{}
	for pkg, addr := range routes {
		c := byAddr[addr]
		if c == nil {
			var err error
			if c, err = grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials())); err != nil {
				for _, opened := range byAddr {
					_ = opened.Close()
				}
				return nil, fmt.Errorf("console route %s=%s: %w", pkg, addr, err)
			}
			byAddr[addr] = c
		}
		r.routes[pkg] = c
	}
	return r, nil
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
