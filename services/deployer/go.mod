module github.com/penguinmails/floe/services/deployer

go 1.26.0

require (
	github.com/penguinmails/floe/libs v0.0.0
	github.com/penguinmails/floe/proto v0.0.0
)

require github.com/google/go-cmp v0.7.0 // indirect

replace (
	github.com/penguinmails/floe/libs => ../../libs
	github.com/penguinmails/floe/proto => ../../proto
)
