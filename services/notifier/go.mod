module github.com/penguinmails/floe/services/notifier

go 1.26.0

replace (
	github.com/penguinmails/floe/libs => ../../libs
	github.com/penguinmails/floe/proto => ../../proto
)
