package conventional

// Run one fuzzer at a time, with an anchored name (plain "FuzzParse" also
// matches FuzzParseGitLog, and go test refuses to fuzz two targets):
//
//	go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 20s ./conventional/
//	go test -run '^$' -fuzz '^FuzzSuggest$' -fuzztime 20s ./conventional/
//	go test -run '^$' -fuzz '^FuzzParseGitLog$' -fuzztime 20s ./conventional/

import (
	"bytes"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"",
		"feat: allow provided config object to extend other configs\n\nBREAKING CHANGE: `extends` key in config file is now used for extending other config files",
		"feat!: send an email to the customer when a product is shipped",
		"feat(api)!: send an email to the customer when a product is shipped",
		"chore!: drop support for Node 6\n\nBREAKING CHANGE: use JavaScript features not available in Node 6.",
		"docs: correct spelling of CHANGELOG",
		"fix: prevent racing of requests\n\nIntroduce a request id.\n\nRemove timeouts.\n\nReviewed-by: Z\nRefs: #123\n",
		"revert: let us never again speak of the noodle incident\n\nRefs: 676104e, a215868",
		"fix(a b)!:\tx\r\n\r\nbody\r\nBREAKING-CHANGE:\r\n multi\r\n\r\nline\r\nFixes #7, #8",
		"Merge pull request #12 from org/feat/x\n\nfeat: add x",
		"Revert \"feat: add x\"",
		"feat(): x",
		"FEAT(Ü.1/@x,y+z*): \u00a0x\u00a0",
		"feat:x",
		"\xff\xfe: \xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		c := Parse(msg)
		if c.Description != strings.TrimSpace(c.Description) {
			t.Errorf("Parse(%q).Description = %q has surrounding white space", msg, c.Description)
		}
		if c.Body != strings.TrimSpace(c.Body) || c.BreakingNote != strings.TrimSpace(c.BreakingNote) {
			t.Errorf("Parse(%q): untrimmed Body %q or BreakingNote %q", msg, c.Body, c.BreakingNote)
		}
		if strings.ContainsAny(c.Description, "\r\n") {
			t.Errorf("Parse(%q).Description = %q spans lines", msg, c.Description)
		}
		for _, r := range c.Refs {
			if r == "" {
				t.Errorf("Parse(%q).Refs = %q has an empty ref", msg, c.Refs)
			}
		}
		// Every parsed commit is either a change or skipped, and summaries
		// are single lines.
		sug, err := Suggest("1.0.0", []Commit{c})
		if err != nil {
			t.Fatalf("Suggest(1.0.0, Parse(%q)): %v", msg, err)
		}
		if len(sug.Changes)+len(sug.Skipped) == 0 {
			t.Errorf("Suggest(1.0.0, Parse(%q)) neither changed nor skipped it", msg)
		}
		for _, ch := range sug.Changes {
			if ch.Summary == "" || strings.ContainsAny(ch.Summary, "\r\n") || ch.Summary != strings.TrimSpace(ch.Summary) {
				t.Errorf("Suggest(1.0.0, Parse(%q)) change summary %q is not one trimmed line", msg, ch.Summary)
			}
		}
		if c.Type == "" {
			if c.Breaking || c.Scope != "" || c.Refs != nil || c.BreakingNote != "" {
				t.Errorf("Parse(%q) = %+v: a non-conventional commit has conventional fields", msg, c)
			}
			return
		}
		if c.Type != strings.ToLower(c.Type) || c.Description == "" {
			t.Errorf("Parse(%q) = %+v: type not lower case or empty description", msg, c)
		}
		// The subject rebuilt from the parsed fields parses the same.
		subject := c.Type
		if c.Scope != "" {
			subject += "(" + c.Scope + ")"
		}
		if c.Breaking {
			subject += "!"
		}
		subject += ": " + c.Description
		r := Parse(subject)
		if r.Type != c.Type || r.Scope != c.Scope || r.Breaking != c.Breaking || r.Description != c.Description {
			t.Errorf("Parse(%q) = %+v, but its subject %q re-parses to %+v", msg, c, subject, r)
		}
	})
}

func FuzzSuggest(f *testing.F) {
	for _, s := range []string{
		"", "0.0.0", "1.4.2", "v1.4.2", "0.3.4", "1.2.0-rc.1", "2.0.0-rc.1", "1.2.3-beta+exp.sha.5114f85",
		"0.0.0-alpha", "18446744073709551615.18446744073709551615.18446744073709551615",
		"01.2.3", "1.2", "v", " 1.2.3 ", "1.0.0-alpha.beta.11",
	} {
		for sel := range uint8(8) {
			f.Add(s, sel)
		}
	}
	all := []Commit{
		Parse("chore: x"),
		Parse("fix: x"),
		Parse("feat: x"),
		Parse("feat!: x"),
	}
	f.Fuzz(func(t *testing.T, current string, sel uint8) {
		// sel picks a subset of the commits: bit i includes all[i].
		var commits []Commit
		for i, c := range all {
			if sel&(1<<i) != 0 {
				commits = append(commits, c)
			}
		}
		s, err := Suggest(current, commits)
		if err != nil {
			if s.Current != "" || s.Next != "" {
				t.Errorf("Suggest(%q) = %+v with error %v", current, s, err)
			}
			return
		}
		cur, err := parseVersion(s.Current)
		if err != nil {
			t.Fatalf("Suggest(%q).Current = %q is not valid: %v", current, s.Current, err)
		}
		if s.Bump == BumpNone {
			if s.Next != "" || s.Type != "" {
				t.Errorf("Suggest(%q) = %+v: no bump but Next or Type set", current, s)
			}
			return
		}
		next, err := parseVersion(s.Next)
		if err != nil {
			t.Fatalf("Suggest(%q).Next = %q is not valid: %v", current, s.Next, err)
		}
		if next.pre != "" || next.build != "" || strings.HasPrefix(s.Next, "v") {
			t.Errorf("Suggest(%q).Next = %q is not a plain release", current, s.Next)
		}
		if compareVersions(next, cur) <= 0 {
			t.Errorf("Suggest(%q).Next = %q is not greater than Current %q", current, s.Next, s.Current)
		}
		if s.Type != s.Bump.String() {
			t.Errorf("Suggest(%q): Type %q does not match Bump %v", current, s.Type, s.Bump)
		}
		if cur.major == 0 && s.Bump == BumpMajor {
			t.Errorf("Suggest(%q) bumped major below 1.0.0", current)
		}
	})
}

func FuzzParseGitLog(f *testing.F) {
	h := strings.Repeat("0123456789", 4)
	for _, s := range []string{
		"",
		h + "\x1fAnn\x1ffeat: a\n\x1e\n" + h + "\x1fBob\x1ffix(x)!: b\n\nRefs: #1\n\x1e\n",
		"abcd\x1f\x1f\x1e",
		h + "\x1fAnn\x1e",
		"\x1e\x1e\x1f\x1f",
		"zz\x1fa\x1fb",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, out []byte) {
		commits, err := ParseGitLog(out)
		if err != nil {
			if commits != nil {
				t.Errorf("ParseGitLog(%q) returned commits with error %v", out, err)
			}
			return
		}
		if max := bytes.Count(out, []byte{0x1e}) + 1; len(commits) > max {
			t.Errorf("ParseGitLog(%q) gave %d commits from at most %d records", out, len(commits), max)
		}
		for _, c := range commits {
			if !isHash(c.Hash) || c.Author != strings.TrimSpace(c.Author) {
				t.Errorf("ParseGitLog(%q) gave commit %+v with a bad hash or untrimmed author", out, c)
			}
		}
	})
}
