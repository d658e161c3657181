module github.com/penguinmails/floe/services/change

go 1.26.0

replace (
	github.com/penguinmails/floe/libs => ../../libs
	github.com/penguinmails/floe/proto => ../../proto
)

require (
	github.com/google/go-cmp v0.7.0
	github.com/penguinmails/floe/libs v0.0.0
	github.com/penguinmails/floe/proto v0.0.0
)

require (
	golang.org/x/sys v0.49.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260928230214-8a89bd6388cc // indirect
	google.golang.org/grpc v1.85.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
