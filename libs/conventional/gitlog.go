package conventional

import (
	"bytes"
	"fmt"
	"slices"
)

// GitLogFormat is the git log format ParseGitLog reads: for each commit its
// full hash, author name and raw message, separated by 0x1f (unit separator)
// and terminated by 0x1e (record separator).
const GitLogFormat = "%H%x1f%an%x1f%B%x1e"

// GitLogArgs returns the arguments of the git command whose output
// ParseGitLog reads, for a revision range such as "v1.4.2..HEAD" ("" means
// HEAD, the whole history):
//
//	git log --format=%H%x1f%an%x1f%B%x1e --end-of-options <range> --
//
// --end-of-options (git 2.24 or later) keeps a range that starts with "-"
// from being read as an option, and the final "--" keeps it from being read
// as a path. Run it with exec.Command("git", GitLogArgs(r)...) in the
// repository.
func GitLogArgs(revRange string) []string {
	if revRange == "" {
		revRange = "HEAD"
	}
	return []string{"log", "--format=" + GitLogFormat, "--end-of-options", revRange, "--"}
}

// ParseGitLog parses the output of
//
//	git log --format=%H%x1f%an%x1f%B%x1e <range>
//
// (see GitLogArgs) into commits, oldest first: git prints the newest first,
// so the order is reversed. Each record is the hash (4 to 64 hexadecimal
// digits), the author and the message, which is parsed with Parse; white
// space around records and authors is ignored, and so are empty records. A
// record without three fields or with a malformed hash is an error. A message
// that itself contains a 0x1e byte cannot be represented in this format.
func ParseGitLog(out []byte) ([]Commit, error) {
	var commits []Commit
	for i, rec := range bytes.Split(out, []byte{0x1e}) {
		rec = bytes.TrimSpace(rec)
		if len(rec) == 0 {
			continue
		}
		f := bytes.SplitN(rec, []byte{0x1f}, 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("conventional: git log record %d: got %d fields separated by 0x1f, want 3 (use --format=%s)", i+1, len(f), GitLogFormat)
		}
		hash := string(bytes.TrimSpace(f[0]))
		if !isHash(hash) {
			return nil, fmt.Errorf("conventional: git log record %d: invalid commit hash %q", i+1, hash)
		}
		c := Parse(string(f[2]))
		c.Hash = hash
		c.Author = string(bytes.TrimSpace(f[1]))
		commits = append(commits, c)
	}
	slices.Reverse(commits)
	return commits, nil
}

// isHash reports whether s looks like a (possibly abbreviated) commit hash.
func isHash(s string) bool {
	if len(s) < 4 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
