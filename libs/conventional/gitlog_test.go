package conventional_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/conventional"
)

func TestParseGitLog(t *testing.T) {
	t.Parallel()
	h1, h2 := strings.Repeat("a", 40), strings.Repeat("b", 40)
	tests := []struct {
		name    string
		out     string
		want    []conventional.Commit
		wantErr bool
	}{
		{name: "empty output", out: ""},
		{name: "only white space", out: "\n\x1e\n"},
		{
			name: "newest first becomes oldest first",
			out:  h2 + "\x1fBob\x1ffix(api): b\n\nFixes #2\n\x1e\n" + h1 + "\x1fAnn Lee\x1ffeat: a\n\x1e\n",
			want: []conventional.Commit{
				{Hash: h1, Author: "Ann Lee", Type: "feat", Description: "a"},
				{Hash: h2, Author: "Bob", Type: "fix", Scope: "api", Description: "b", Refs: []string{"#2"}},
			},
		},
		{
			name: "0x1f inside the message is kept",
			out:  h1 + "\x1fAnn\x1fchore: a\x1fb\x1e",
			want: []conventional.Commit{{Hash: h1, Author: "Ann", Type: "chore", Description: "a\x1fb"}},
		},
		{
			name: "abbreviated hash",
			out:  "abc1234\x1fAnn\x1fMerge branch 'x'\x1e",
			want: []conventional.Commit{{Hash: "abc1234", Author: "Ann", Description: "Merge branch 'x'"}},
		},
		{name: "missing fields", out: h1 + "\x1fAnn\x1e", wantErr: true},
		{name: "not the expected format", out: h1 + " feat: a\n" + h2 + " fix: b\n", wantErr: true},
		{name: "bad hash", out: "xyz\x1fAnn\x1ffeat: a\x1e", wantErr: true},
		{name: "empty hash", out: "\x1fAnn\x1ffeat: a\x1e", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := conventional.ParseGitLog([]byte(tt.out))
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Fatalf("ParseGitLog(%q) error = %v, want error %t", tt.out, err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseGitLog(%q) mismatch (-want +got):\n%s", tt.out, diff)
			}
		})
	}
}

func TestGitLogArgs(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		rng  string
		want []string
	}{
		{"v1.2.3..HEAD", []string{"log", "--format=%H%x1f%an%x1f%B%x1e", "--end-of-options", "v1.2.3..HEAD", "--"}},
		{"", []string{"log", "--format=%H%x1f%an%x1f%B%x1e", "--end-of-options", "HEAD", "--"}},
	} {
		if diff := cmp.Diff(tt.want, conventional.GitLogArgs(tt.rng)); diff != "" {
			t.Errorf("GitLogArgs(%q) mismatch (-want +got):\n%s", tt.rng, diff)
		}
	}
}

// TestParseGitLogRepo makes commits in a real repository, runs the
// documented git log command over a range and suggests a version.
func TestParseGitLogRepo(t *testing.T) {
	t.Parallel()
	// `floe release next --from-commits` runs git; so does this test. A
	// checkout (which CI is) always has it: not finding it fails the test.
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is not on PATH: install git to run the round trip through a real repository")
	}
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(context.Background(), "git", args...)
		cmd.Dir = dir
		// Drop inherited GIT_* variables (GIT_DIR in a hook would point at
		// another repository) and ignore the user's and the system's
		// configuration (signing, hooks).
		for _, kv := range os.Environ() {
			if !strings.HasPrefix(kv, "GIT_") {
				cmd.Env = append(cmd.Env, kv)
			}
		}
		cmd.Env = append(cmd.Env, "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_CONFIG_NOSYSTEM=1")
		out, err := cmd.Output()
		if err != nil {
			stderr := ""
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				stderr = string(ee.Stderr)
			}
			t.Fatalf("git %q: %v\n%s", args, err, stderr)
		}
		return string(out)
	}
	git("init", "-q")
	git("config", "user.name", "Ann Lee")
	git("config", "user.email", "ann@example.com")
	git("config", "commit.gpgsign", "false")
	git("commit", "-q", "--allow-empty", "-m", "chore: initial commit")
	git("tag", "v1.4.2")
	git("commit", "-q", "--allow-empty", "-m", "fix(api): reject empty names", "-m", "Fixes #7")
	git("commit", "-q", "--allow-empty", "-m", "docs: explain the release flow")
	git("commit", "-q", "--allow-empty", "-m", "feat(scheduler)!: schedule releases",
		"-m", "Releases can now be given a window.",
		"-m", "BREAKING CHANGE: the start field is now\nwindow_start.\r\nRefs: PROJ-12")
	git("commit", "-q", "--allow-empty", "-m", "Merge branch 'x'")
	hashes := strings.Fields(git("log", "--format=%H", "--reverse", "v1.4.2..HEAD"))
	if len(hashes) != 4 {
		t.Fatalf("got %d commits in range, want 4: %q", len(hashes), hashes)
	}

	out := git(conventional.GitLogArgs("v1.4.2..HEAD")...)
	got, err := conventional.ParseGitLog([]byte(out))
	if err != nil {
		t.Fatalf("ParseGitLog: %v\n%q", err, out)
	}
	want := []conventional.Commit{
		{Hash: hashes[0], Author: "Ann Lee", Type: "fix", Scope: "api", Description: "reject empty names", Refs: []string{"#7"}},
		{Hash: hashes[1], Author: "Ann Lee", Type: "docs", Description: "explain the release flow"},
		{
			Hash: hashes[2], Author: "Ann Lee", Type: "feat", Scope: "scheduler", Breaking: true,
			Description: "schedule releases", Body: "Releases can now be given a window.",
			BreakingNote: "the start field is now\nwindow_start.", Refs: []string{"PROJ-12"},
		},
		{Hash: hashes[3], Author: "Ann Lee", Description: "Merge branch 'x'"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ParseGitLog mismatch (-want +got):\n%s", diff)
	}

	s, err := conventional.Suggest("v1.4.2", got)
	if err != nil {
		t.Fatalf("Suggest: %v", err)
	}
	wantChanges := []conventional.Change{
		{Kind: "bug_fix", Summary: "api: reject empty names", Ticket: "#7", Author: "Ann Lee", Commit: hashes[0]},
		{Kind: "feature", Summary: "scheduler: schedule releases", Ticket: "PROJ-12", Author: "Ann Lee", Commit: hashes[2]},
		{Kind: "breaking", Summary: "scheduler: the start field is now window_start.", Ticket: "PROJ-12", Author: "Ann Lee", Commit: hashes[2]},
	}
	if s.Next != "2.0.0" || s.Type != "major" {
		t.Errorf("Suggest: Next, Type = %q, %q; want 2.0.0, major", s.Next, s.Type)
	}
	if diff := cmp.Diff(wantChanges, s.Changes); diff != "" {
		t.Errorf("Suggest changes mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]conventional.Commit{got[1], got[3]}, s.Skipped); diff != "" {
		t.Errorf("Suggest skipped mismatch (-want +got):\n%s", diff)
	}
}
