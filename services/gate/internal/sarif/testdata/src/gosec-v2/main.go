// Package main is a deliberately insecure demo used to produce SARIF test data.
package main

import (
	"crypto/md5"
	"database/sql"
	"fmt"
	"os"
)

var dbPassword = "Xk9mP2vL8qR4wT7zQ1nB6cY3"

func checksum(b []byte) string {
	return fmt.Sprintf("%x", md5.Sum(b))
}

// lookup finds a user by name.
func lookup(db *sql.DB, name string) (*sql.Rows, error) {
	return db.Query("SELECT id FROM users WHERE name = '" + name + "'")
}

func writeLog(msg string) {
	f, _ := os.CreateTemp("", "demo-*.log")
	f.Write([]byte(msg))
	f.Close() // #nosec G104 -- best-effort close of a log file
}

func main() {
	fmt.Println(checksum([]byte(dbPassword)))
	writeLog("started")
	_, _ = lookup(nil, os.Args[0])
}

func readConfig(path string) ([]byte, error) {
	return os.ReadFile(path)
}
