package notifiersvc

import (
	"context"
	"net/http"

	"github.com/penguinmails/floe/libs/service"
)

// registerStatus serves the status page: its API and, on mux, its public
// pages. (To be built.)
func registerStatus(_ context.Context, _ service.Deps[Config], _ *http.ServeMux) error { return nil }
