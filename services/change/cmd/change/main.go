// Command change runs the Floe change service on its own (production):
// change requests, deployment windows and freezes, the compliance report.
// `floe dev` runs the same service in one process with the others.
package main

import (
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/services/change/changesvc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { service.Main(changesvc.Service, version) }
