module github.com/penguinmails/floe/e2e

go 1.26.0
