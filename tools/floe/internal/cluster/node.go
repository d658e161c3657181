package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/penguinmails/floe/libs/natsx"
)

// RunNode runs one NATS node of a local cluster until ctx ends (then it
// shuts down cleanly): the production node configuration at conf placed by
// spec (natsx.NodeOptions). Its log goes to the process's stderr.
func RunNode(ctx context.Context, conf string, spec natsx.NodeSpec) error {
	opts, err := natsx.NodeOptions(conf, spec)
	if err != nil {
		return err
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("nats node %s: %w", spec.Name, err)
	}
	srv.ConfigureLogger()
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return fmt.Errorf("nats node %s did not accept connections within 30s", spec.Name)
	}
	<-ctx.Done()
	srv.Shutdown()
	srv.WaitForShutdown()
	return nil
}
