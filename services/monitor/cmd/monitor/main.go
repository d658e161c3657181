// Command monitor runs the Floe monitor on its own (production). `floe dev`
// runs the same service with the others.
package main

import (
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/services/monitor/monitorsvc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { service.Main(monitorsvc.Service, version) }
