// Command audit runs the Floe audit service on its own (production): the
// checkpointer that signs the event log and the AuditService. `floe dev`
// runs the same service in one process with the others.
package main

import (
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/services/audit/auditsvc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { service.Main(auditsvc.Service, version) }
