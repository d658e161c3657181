package execdriver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/penguinmails/floe/services/deployer/internal/driver"
)

// record is what the driver remembers of a target.
type record struct {
	// Versions are the versions this driver started and has not stopped,
	// with what they were started with. Without a State command, they are
	// the running versions.
	Versions map[string]versionInfo `json:"versions"`
	// Weights is the last split that SetWeights set, positive weights only.
	Weights map[string]int `json:"weights"`
	// Unsettled are the versions that a SetWeights that failed since may
	// have given traffic, with the most it tried to give them.
	Unsettled map[string]int `json:"unsettled,omitempty"`
}

// versionInfo is what a version was started with.
type versionInfo struct {
	ReleaseID string            `json:"release_id,omitempty"`
	Config    map[string]string `json:"config,omitempty"`
}

// stateFile is the JSON file of a target's record in StateDir.
type stateFile struct {
	App         string `json:"app"`
	Environment string `json:"environment"`
	record
}

func newRecord() record {
	return record{Versions: map[string]versionInfo{}, Weights: map[string]int{}}
}

// clone returns a deep copy of the record, for changing it without touching
// the original until the change is saved.
func (r record) clone() record {
	c := record{Versions: make(map[string]versionInfo, len(r.Versions)), Weights: maps.Clone(r.Weights), Unsettled: maps.Clone(r.Unsettled)}
	for v, info := range r.Versions {
		c.Versions[v] = versionInfo{ReleaseID: info.ReleaseID, Config: maps.Clone(info.Config)}
	}
	if c.Weights == nil {
		c.Weights = map[string]int{}
	}
	return c
}

// stateFileName is the name of t's file in StateDir: app@environment.json,
// with every byte other than ASCII letters, digits, '.', '_' and '-' escaped
// as %XX, so that names cannot collide or leave the directory.
func stateFileName(t driver.Target) string {
	return escapeName(t.App) + "@" + escapeName(t.Environment) + ".json"
}

func escapeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// loadRecord reads t's record from dir; a missing file is an empty record.
func loadRecord(dir string, t driver.Target) (record, error) {
	rec := newRecord()
	if dir == "" {
		return rec, nil
	}
	path := filepath.Join(dir, stateFileName(t))
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return rec, nil
	}
	if err != nil {
		return rec, fmt.Errorf("read the driver's record: %w", err)
	}
	var f stateFile
	if err := json.Unmarshal(data, &f); err != nil {
		return rec, fmt.Errorf("read the driver's record %s: %w", path, err)
	}
	if f.App != t.App || f.Environment != t.Environment {
		return rec, fmt.Errorf("the driver's record %s is of %s@%s, not %s", path, f.App, f.Environment, t)
	}
	rec = f.record.clone()
	return rec, nil
}

// saveRecord writes t's record to dir atomically: a temporary file in dir,
// fsync, rename over the old one, fsync of dir. It does nothing without dir.
func saveRecord(dir string, t driver.Target, rec record) (err error) {
	if dir == "" {
		return nil
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("save the driver's record: %w", err)
		}
	}()
	data, err := json.MarshalIndent(stateFile{App: t.App, Environment: t.Environment, record: rec}, "", "  ")
	if err != nil {
		return err
	}
	name := stateFileName(t)
	tmp, err := os.CreateTemp(dir, "."+name+".*.tmp") // mode 0600
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	_, err = tmp.Write(append(data, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	// Make the rename itself durable; not every system can sync a directory.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
