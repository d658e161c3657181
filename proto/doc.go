// Package proto holds Floe's protobuf sources (floe/<domain>/v1/*.proto) and,
// under gen/, the Go code generated from them with `make generate`.
package proto
