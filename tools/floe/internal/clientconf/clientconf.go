// Package clientconf reads and writes the dev credentials file that `floe dev`
// writes and the floe CLI reads by default: the server addresses and one
// token per development user. The file holds plain tokens, so it is created
// with mode 0600 and lives in the data directory (.floe/, never committed).
package clientconf

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// FileName is the credentials file's name inside the data directory.
const FileName = "dev-credentials.yaml"

// Credentials is the dev credentials file.
type Credentials struct {
	// Server is the gRPC address of the development server.
	Server string `yaml:"server"`
	// Admin is the HTTP admin address (/metrics, /healthz, /readyz).
	Admin string `yaml:"admin"`
	// OFREP is the flag service's OFREP HTTP address ("" when disabled).
	OFREP string `yaml:"ofrep,omitempty"`
	// Notifier is the notifier's inbound HTTP address ("" when disabled).
	Notifier string `yaml:"notifier,omitempty"`
	// Console is the admin console's HTTP address ("" when disabled).
	Console string `yaml:"console,omitempty"`
	// NATS is the embedded NATS client URL, for event subscribers.
	NATS string `yaml:"nats"`
	// NATSReaderNKey is the seed file of the read-only NATS identity event
	// subscribers (and floe audit verify) connect with.
	NATSReaderNKey string `yaml:"nats_reader_nkey,omitempty"`
	// Proxies are the demo app's proxy addresses by environment (the local driver's).
	Proxies map[string]string `yaml:"proxies,omitempty"`
	// DefaultUser is used when the CLI is given no --as.
	DefaultUser string `yaml:"default_user"`
	// Users are the development principals with their plain tokens.
	Users []User `yaml:"users"`
}

// User is one development principal.
type User struct {
	ID    string   `yaml:"id"`
	Name  string   `yaml:"name"`
	Roles []string `yaml:"roles"`
	Token string   `yaml:"token"`
}

// Lookup returns the user with id, or the default user when id is "".
func (c *Credentials) Lookup(id string) (*User, error) {
	if id == "" {
		id = c.DefaultUser
	}
	for i := range c.Users {
		if c.Users[i].ID == id {
			return &c.Users[i], nil
		}
	}
	ids := make([]string, 0, len(c.Users))
	for _, u := range c.Users {
		ids = append(ids, u.ID)
	}
	return nil, fmt.Errorf("no dev user %q (known: %v)", id, ids)
}

// Read parses the credentials file at path.
func Read(path string) (*Credentials, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Credentials
	if err := yaml.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// Write stores c at path with mode 0600, atomically (write then rename).
func Write(path string, c *Credentials) error {
	body, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	header := "# Written by `floe dev`. Plain tokens of the development users: for this machine's dev server only.\n" +
		"# The floe CLI reads this file by default (see `floe --help`).\n"
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append([]byte(header), body...), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Find looks for dataDir/FileName in dir and each of its parents, the way git
// finds .git, so the CLI works from any subdirectory of the repository.
func Find(dir, dataDir string) (string, error) {
	if filepath.IsAbs(dataDir) {
		p := filepath.Join(dataDir, FileName)
		if _, err := os.Stat(p); err != nil {
			return "", err
		}
		return p, nil
	}
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, dataDir, FileName)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		if parent := filepath.Dir(d); parent == d {
			return "", fmt.Errorf("no %s found in %s or its parents: %w", filepath.Join(dataDir, FileName), dir, fs.ErrNotExist)
		}
	}
}
