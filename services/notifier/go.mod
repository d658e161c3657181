module github.com/penguinmails/floe/services/notifier

go 1.26.0

replace (
	github.com/penguinmails/floe/libs => ../../libs
	github.com/penguinmails/floe/proto => ../../proto
)

require (
	github.com/emersion/go-sasl v0.0.0-20241020182733-b788ff22d5a6
	github.com/emersion/go-smtp v0.26.0
	github.com/google/go-cmp v0.7.0
	github.com/penguinmails/floe/libs v0.0.0
	github.com/penguinmails/floe/proto v0.0.0
	go.yaml.in/yaml/v3 v3.0.6
)

require (
	github.com/oklog/ulid/v2 v2.1.1 // indirect
	golang.org/x/sys v0.49.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20260928230214-8a89bd6388cc // indirect
	google.golang.org/grpc v1.85.0 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
