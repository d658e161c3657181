// Command notifier runs the Floe notifier on its own: it tells people what
// Floe does over Slack, email, SMS and signed webhooks.
package main

import (
	"github.com/penguinmails/floe/libs/service"
	"github.com/penguinmails/floe/services/notifier/notifiersvc"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { service.Main(notifiersvc.Service, version) }
