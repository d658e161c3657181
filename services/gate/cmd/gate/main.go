// Command gate runs the Floe gate service on its own (production): testing
// gates, their evidence, deadlines and overrides. `floe dev` runs the same
// service in one process with the others.
package main

import (
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/services/gate/gatesvc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { service.Main(gatesvc.Service, version) }
