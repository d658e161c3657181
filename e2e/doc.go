// Package e2e holds black-box tests that build and run the real Floe binaries
// and talk to them only through their public interfaces: gRPC, HTTP, NATS and
// the CLI.
package e2e
