package clientconf

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWriteReadLookup(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), FileName)
	c := &Credentials{Server: "127.0.0.1:7400", DefaultUser: "admin", Users: []User{
		{ID: "admin", Roles: []string{"admin"}, Token: "floe_a"},
		{ID: "alice", Roles: []string{"developer"}, Token: "floe_b"},
	}}
	if err := Write(path, c); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600: the file holds plain tokens", fi.Mode().Perm())
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	for _, tc := range []struct{ as, want string }{{"", "admin"}, {"alice", "alice"}} {
		u, err := got.Lookup(tc.as)
		if err != nil || u.ID != tc.want {
			t.Errorf("Lookup(%q) = %v, %v; want %s", tc.as, u, err, tc.want)
		}
	}
	if _, err := got.Lookup("mallory"); err == nil {
		t.Error("Lookup of an unknown user succeeded")
	}
}

func TestFindSearchesParents(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, ".floe"), 0o700); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(root, ".floe", FileName)
	if err := Write(want, &Credentials{}); err != nil {
		t.Fatal(err)
	}
	deep := filepath.Join(root, "a", "b", "c")
	if err := os.MkdirAll(deep, 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := Find(deep, ".floe")
	if err != nil || got != want {
		t.Errorf("Find = %q, %v; want %q", got, err, want)
	}
	if got, err := Find(t.TempDir(), filepath.Join(root, ".floe")); err != nil || got != want {
		t.Errorf("Find with an absolute data dir = %q, %v", got, err)
	}
	if _, err := Find(t.TempDir(), ".nothing-here"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Find with no file = %v, want fs.ErrNotExist", err)
	}
}
