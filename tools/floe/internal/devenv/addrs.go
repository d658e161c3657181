package devenv

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"

	"github.com/penguinmails/floe/services/deployer/deployersvc"
)

// listenAddr is an address floe dev listens on, with what it is for and
// the flag that moves it.
type listenAddr struct {
	addr, what, flag string
}

// addrs are the addresses floe dev will listen on (ports 0 and empty
// addresses left out: nothing can hold them).
func (c Config) addrs() []listenAddr {
	out := []listenAddr{
		{c.GRPCAddr, "gRPC", "--grpc-addr"},
		{c.AdminAddr, "admin HTTP", "--admin-addr"},
		{c.Flag.OFREPAddr, "the flag service's OFREP endpoint", "--ofrep-addr"},
		{c.Notifier.HTTPAddr, "the notifier's HTTP endpoint", "--notifier-http-addr"},
		{c.Console.Addr, "the admin console", "--console-addr"},
	}
	if c.NATS.URL == "" {
		out = append(out, listenAddr{c.NATS.Listen, "the embedded NATS", "--nats-listen"})
	}
	if dep, err := deployersvc.Load(c.Deployer.File, DeployerDefaults()); err == nil {
		for _, env := range slices.Sorted(maps.Keys(dep.Local.Proxies)) {
			out = append(out, listenAddr{dep.Local.Proxies[env], "the demo app's " + env + " proxy", "the deployer config's local.proxies"})
		}
	}
	return slices.DeleteFunc(out, func(a listenAddr) bool {
		_, port, err := net.SplitHostPort(a.addr)
		return a.addr == "" || err != nil || port == "0"
	})
}

// checkAddrs fails at once, naming each address already in use and the
// flag that moves it, instead of a service failing later (the embedded
// NATS used to wait 30 s and say only that it was not ready).
func checkAddrs(addrs []listenAddr) error {
	var taken []string
	for _, a := range addrs {
		l, err := net.Listen("tcp", a.addr)
		if err != nil {
			taken = append(taken, fmt.Sprintf("%s (%s; %s)", a.addr, a.what, a.flag))
			continue
		}
		_ = l.Close()
	}
	if len(taken) == 0 {
		return nil
	}
	return errors.New("floe dev: in use already: " + strings.Join(taken, ", ") +
		". Is another floe dev (make run) running? Stop it, or pick free addresses (port 0 picks one), e.g. floe dev --data-dir .floe2 --grpc-addr 127.0.0.1:0 --admin-addr 127.0.0.1:0 --nats-listen 127.0.0.1:0 --ofrep-addr 127.0.0.1:0 --notifier-http-addr 127.0.0.1:0 --console-addr 127.0.0.1:0")
}
