// Command release runs the Floe release service on its own (production).
// `floe dev` runs the same service in one process with the others.
package main

import (
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/services/release/releasesvc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { service.Main(releasesvc.Service, version) }
