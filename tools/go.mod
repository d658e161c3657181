module github.com/penguinmails/floe/tools

go 1.26.0
