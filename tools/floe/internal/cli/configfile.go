package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The CLI's config file: the server and token of a real installation, so
// that they need not be given on every command. $FLOE_CONFIG, else
// config.yaml in floe/ under the user's config directory
// (~/.config/floe/config.yaml on Linux):
//
//	server: floe.internal.example:443
//	token_file: ~/.config/floe/token   # or token: floe_…
//
// Flags and environment variables win over it; it wins over the dev
// credentials file of `floe dev`. A file holding a token must not be
// readable by others (mode 0600), as ssh insists of its keys.
type configFile struct {
	Server    string `yaml:"server"`
	Token     string `yaml:"token"`
	TokenFile string `yaml:"token_file"`
}

func configPath() string {
	if p := os.Getenv("FLOE_CONFIG"); p != "" {
		return p
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "floe", "config.yaml")
}

// readConfig reads the config file (a zero one when there is none).
func readConfig() (configFile, error) {
	var c configFile
	path := configPath()
	if path == "" {
		return c, nil
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && os.Getenv("FLOE_CONFIG") == "" {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("config file: %w", err)
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("config file %s: %w", path, err)
	}
	if c.Token != "" {
		if err := private(path); err != nil {
			return c, err
		}
	}
	if c.Token == "" && c.TokenFile != "" {
		tf := c.TokenFile
		if rest, ok := strings.CutPrefix(tf, "~/"); ok {
			home, err := os.UserHomeDir()
			if err != nil {
				return c, err
			}
			tf = filepath.Join(home, rest)
		}
		if err := private(tf); err != nil {
			return c, err
		}
		b, err := os.ReadFile(tf)
		if err != nil {
			return c, fmt.Errorf("config file %s: token_file: %w", path, err)
		}
		c.Token = strings.TrimSpace(string(b))
	}
	return c, nil
}

// private refuses a file holding a token that others may read.
func private(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return fmt.Errorf("%s holds a token and is readable by others (mode %04o): chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	return nil
}
