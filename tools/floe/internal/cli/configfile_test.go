package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigFile: the server and a token (inline or in a token file) come
// from the config file; a file holding a token that others may read is
// refused with the chmod that fixes it; a named file that does not exist is
// an error, the default one missing is not.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tokenFile := write("token", "floe_abc\n", 0o600)
	t.Setenv("FLOE_CONFIG", write("a.yaml", "server: floe.example:443\ntoken_file: "+tokenFile+"\n", 0o644))
	c, err := readConfig()
	if err != nil || c.Server != "floe.example:443" || c.Token != "floe_abc" {
		t.Errorf("token_file: %+v, %v", c, err)
	}
	t.Setenv("FLOE_CONFIG", write("b.yaml", "server: x:1\ntoken: floe_inline\n", 0o600))
	if c, err := readConfig(); err != nil || c.Token != "floe_inline" {
		t.Errorf("inline token: %+v, %v", c, err)
	}
	t.Setenv("FLOE_CONFIG", write("c.yaml", "token: floe_inline\n", 0o644))
	if _, err := readConfig(); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a world-readable token: %v", err)
	}
	write("loose-token", "floe_x", 0o640)
	t.Setenv("FLOE_CONFIG", write("d.yaml", "token_file: "+filepath.Join(dir, "loose-token")+"\n", 0o644))
	if _, err := readConfig(); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Errorf("a group-readable token file: %v", err)
	}
	t.Setenv("FLOE_CONFIG", filepath.Join(dir, "missing.yaml"))
	if _, err := readConfig(); err == nil {
		t.Error("a named config file that does not exist was ignored")
	}
	t.Setenv("FLOE_CONFIG", "")
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	if c, err := readConfig(); err != nil || c != (configFile{}) {
		t.Errorf("no config file: %+v, %v", c, err)
	}
}
