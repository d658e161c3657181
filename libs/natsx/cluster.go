package natsx

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/nats-io/nats-server/v2/server"
)

// NodeSpec places one node of a JetStream cluster: the production node
// configuration (deploy/nats/nats-server.conf: accounts, users, permissions,
// JetStream settings) with this node's name, addresses, routes and store.
type NodeSpec struct {
	// Name is the server name (unique in the cluster).
	Name string
	// Listen and ClusterListen are the client and route addresses, "host:port".
	Listen, ClusterListen string
	// Routes are the cluster's route URLs (nats-route://host:port), this node's included.
	Routes []string
	// StoreDir holds this node's JetStream data.
	StoreDir string
}

// tlsBlock is the configuration's tls { ... } block: a local cluster runs
// on loopback without certificates.
var tlsBlock = regexp.MustCompile(`(?s)\ntls \{.*?\n\}`)

// NodeOptions reads the node configuration at confPath (its $VARIABLES
// resolved from the environment, as nats-server does) and places it per
// spec: name, client and cluster listeners, routes and store directory
// replace the file's; its TLS block and monitoring port are dropped.
func NodeOptions(confPath string, spec NodeSpec) (*server.Options, error) {
	var problems []error
	if spec.Name == "" {
		problems = append(problems, errors.New("node: no name"))
	}
	if spec.StoreDir == "" {
		problems = append(problems, errors.New("node: no store directory"))
	}
	if len(spec.Routes) == 0 {
		problems = append(problems, errors.New("node: no routes"))
	}
	host, port, err := hostPort(spec.Listen)
	if err != nil {
		problems = append(problems, fmt.Errorf("node client address: %w", err))
	}
	chost, cport, err := hostPort(spec.ClusterListen)
	if err != nil {
		problems = append(problems, fmt.Errorf("node cluster address: %w", err))
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(confPath)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(spec.StoreDir, 0o700); err != nil {
		return nil, err
	}
	local := filepath.Join(spec.StoreDir, "node.conf")
	if err := os.WriteFile(local, tlsBlock.ReplaceAll(data, nil), 0o600); err != nil {
		return nil, err
	}
	opts, err := server.ProcessConfigFile(local)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", confPath, err)
	}
	opts.ServerName = spec.Name
	opts.Host, opts.Port = host, port
	opts.Cluster.Host, opts.Cluster.Port = chost, cport
	opts.Routes = server.RoutesFromStr(strings.Join(spec.Routes, ","))
	opts.StoreDir = spec.StoreDir
	opts.HTTPHost, opts.HTTPPort = "", 0
	opts.NoSigs = true
	return opts, nil
}

func hostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 {
		return "", 0, fmt.Errorf("%q: a fixed port is needed (the other nodes route to it)", addr)
	}
	return host, port, nil
}
