// Command deployer runs the Floe deployer on its own (production, and the
// kill-and-resume test). `floe dev` runs the same service with the others.
package main

import (
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/services/deployer/deployersvc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { service.Main(deployersvc.Service, version) }
