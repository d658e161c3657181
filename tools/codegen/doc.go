// Package codegen pins the protobuf code-generation tools (buf, protoc-gen-go,
// protoc-gen-go-grpc) as Go tools. It is its own module, outside go.work, so
// that buf's large dependency graph never changes the versions the product
// itself builds with. Run through the Makefile: `make generate`, `make lint`.
package codegen
