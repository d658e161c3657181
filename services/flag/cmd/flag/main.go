// Command flag runs the Floe flag service on its own: environments' feature
// flags, their rollouts, kill switch, schedules and history.
package main

import (
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/services/flag/flagsvc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { service.Main(flagsvc.Service, version) }
