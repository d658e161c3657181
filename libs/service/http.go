package service

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/penguinmails/floe/libs/runtime"
)

// ServeHTTP listens on addr now (so that a taken port fails the start) and
// serves h from a worker of rt until the process shuts down, letting
// in-flight requests finish within the shutdown timeout. It returns the
// bound address (port 0 picks a free one).
func ServeHTTP(rt *runtime.Runtime, name, addr string, h http.Handler) (string, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen %s %s: %w", name, addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	rt.Go(name, func(ctx context.Context) error {
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(lis) }()
		select {
		case err := <-errc:
			return fmt.Errorf("%s server: %w", name, err)
		case <-ctx.Done():
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rt.Config().ShutdownTimeout)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	rt.OnShutdown(name+"-listener", func(context.Context) error {
		_ = lis.Close() // when the worker never ran (a start that failed later)
		return nil
	})
	return lis.Addr().String(), nil
}
