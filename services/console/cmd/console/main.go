// Command console runs Floe's admin console on its own: a web UI over the
// services' gRPC APIs, with the signed-in principal's rights.
package main

import (
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/services/console/consolesvc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { service.Main(consolesvc.Service, version) }
