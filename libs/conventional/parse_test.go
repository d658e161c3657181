package conventional_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/penguinmails/floe/libs/conventional"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  string
		want conventional.Commit
	}{
		// The examples of https://www.conventionalcommits.org/en/v1.0.0/.
		{
			name: "spec: description and BREAKING CHANGE footer",
			msg:  "feat: allow provided config object to extend other configs\n\nBREAKING CHANGE: `extends` key in config file is now used for extending other config files",
			want: conventional.Commit{
				Type: "feat", Breaking: true,
				Description:  "allow provided config object to extend other configs",
				BreakingNote: "`extends` key in config file is now used for extending other config files",
			},
		},
		{
			name: "spec: ! to draw attention to a breaking change",
			msg:  "feat!: send an email to the customer when a product is shipped",
			want: conventional.Commit{Type: "feat", Breaking: true, Description: "send an email to the customer when a product is shipped"},
		},
		{
			name: "spec: scope and !",
			msg:  "feat(api)!: send an email to the customer when a product is shipped",
			want: conventional.Commit{Type: "feat", Scope: "api", Breaking: true, Description: "send an email to the customer when a product is shipped"},
		},
		{
			name: "spec: both ! and BREAKING CHANGE footer",
			msg:  "chore!: drop support for Node 6\n\nBREAKING CHANGE: use JavaScript features not available in Node 6.",
			want: conventional.Commit{
				Type: "chore", Breaking: true, Description: "drop support for Node 6",
				BreakingNote: "use JavaScript features not available in Node 6.",
			},
		},
		{
			name: "spec: no body",
			msg:  "docs: correct spelling of CHANGELOG",
			want: conventional.Commit{Type: "docs", Description: "correct spelling of CHANGELOG"},
		},
		{
			name: "spec: scope",
			msg:  "feat(lang): add Polish language",
			want: conventional.Commit{Type: "feat", Scope: "lang", Description: "add Polish language"},
		},
		{
			name: "spec: multi-paragraph body and multiple footers",
			msg: "fix: prevent racing of requests\n\n" +
				"Introduce a request id and a reference to latest request. Dismiss\nincoming responses other than from latest request.\n\n" +
				"Remove timeouts which were used to mitigate the racing issue but are\nobsolete now.\n\n" +
				"Reviewed-by: Z\nRefs: #123\n",
			want: conventional.Commit{
				Type: "fix", Description: "prevent racing of requests",
				Body: "Introduce a request id and a reference to latest request. Dismiss\nincoming responses other than from latest request.\n\n" +
					"Remove timeouts which were used to mitigate the racing issue but are\nobsolete now.",
				Refs: []string{"#123"},
			},
		},
		{
			name: "spec: revert type with commit refs",
			msg:  "revert: let us never again speak of the noodle incident\n\nRefs: 676104e, a215868",
			want: conventional.Commit{Type: "revert", Description: "let us never again speak of the noodle incident", Refs: []string{"676104e", "a215868"}},
		},
		{
			name: "BREAKING-CHANGE is a synonym",
			msg:  "feat(config): new format\n\nBREAKING-CHANGE: the old format is gone",
			want: conventional.Commit{Type: "feat", Scope: "config", Breaking: true, Description: "new format", BreakingNote: "the old format is gone"},
		},
		{
			name: "footers with # separator and several refs",
			msg:  "fix: x\n\nFixes #7\nCloses: #45, #46\nRefs: GH-12 owner/repo#3\nSigned-off-by: A <a@example.com>",
			want: conventional.Commit{Type: "fix", Description: "x", Refs: []string{"#7", "#45", "#46", "GH-12", "owner/repo#3"}},
		},
		{
			name: "refs keep only words with a digit, once each",
			msg:  "fix: x\n\nRefs: see the discussion in #12 and (PROJ-7).\nRelated: #12, https://github.com/o/r/pull/9",
			want: conventional.Commit{Type: "fix", Description: "x", Refs: []string{"#12", "PROJ-7", "https://github.com/o/r/pull/9"}},
		},
		{
			name: "multi-line footer value runs to the next token",
			msg:  "feat: x\n\nBREAKING CHANGE: the config\n  format changed.\n\n  Run `floe migrate`.\nRefs: #1",
			want: conventional.Commit{
				Type: "feat", Breaking: true, Description: "x",
				BreakingNote: "the config\n  format changed.\n\n  Run `floe migrate`.",
				Refs:         []string{"#1"},
			},
		},
		{
			name: "BREAKING CHANGE with the value on the next line",
			msg:  "feat: x\n\nBREAKING CHANGE:\nthe API changed",
			want: conventional.Commit{Type: "feat", Breaking: true, Description: "x", BreakingNote: "the API changed"},
		},
		{
			name: "two BREAKING CHANGE footers are joined",
			msg:  "feat: x\n\nBREAKING CHANGE: one\nBREAKING-CHANGE: two",
			want: conventional.Commit{Type: "feat", Breaking: true, Description: "x", BreakingNote: "one\n\ntwo"},
		},
		{
			name: "BREAKING CHANGE inside a body paragraph is still found",
			msg:  "feat: x\n\nSome body.\nBREAKING CHANGE: y",
			want: conventional.Commit{Type: "feat", Breaking: true, Description: "x", Body: "Some body.", BreakingNote: "y"},
		},
		{
			name: "lower-case breaking change is not a footer",
			msg:  "feat: x\n\nbreaking change: y",
			want: conventional.Commit{Type: "feat", Description: "x", Body: "breaking change: y"},
		},
		{
			name: "other tokens inside a paragraph are body",
			msg:  "feat: x\n\nThe fix is:\nRefs: not a footer here",
			want: conventional.Commit{Type: "feat", Description: "x", Body: "The fix is:\nRefs: not a footer here"},
		},
		{
			name: "a body paragraph that starts like a footer is a footer",
			msg:  "feat: x\n\nNote: this is prose.\n\nRefs: #1",
			want: conventional.Commit{Type: "feat", Description: "x", Refs: []string{"#1"}},
		},
		{
			name: "footer right after the subject",
			msg:  "fix: x\nRefs: #3",
			want: conventional.Commit{Type: "fix", Description: "x", Refs: []string{"#3"}},
		},
		{
			name: "CRLF line endings",
			msg:  "feat(api): add x\r\n\r\nbody line\r\n\r\nRefs: #9\r\nBREAKING CHANGE: gone\r\n",
			want: conventional.Commit{Type: "feat", Scope: "api", Breaking: true, Description: "add x", Body: "body line", BreakingNote: "gone", Refs: []string{"#9"}},
		},
		{
			name: "white space is trimmed",
			msg:  "\n\n  feat( api ):   spaced out  \t\n\n  body  \n\n",
			want: conventional.Commit{Type: "feat", Scope: "api", Description: "spaced out", Body: "body"},
		},
		{
			name: "tab after the colon",
			msg:  "fix:\tx",
			want: conventional.Commit{Type: "fix", Description: "x"},
		},
		{
			name: "type is lower-cased, scope kept",
			msg:  "FEAT(API): Add X",
			want: conventional.Commit{Type: "feat", Scope: "API", Description: "Add X"},
		},
		{
			name: "lenient scope characters",
			msg:  "fix(ui/button.v2, @pkg/core_x+y): x",
			want: conventional.Commit{Type: "fix", Scope: "ui/button.v2, @pkg/core_x+y", Description: "x"},
		},
		{
			name: "empty scope",
			msg:  "feat(): x",
			want: conventional.Commit{Type: "feat", Description: "x"},
		},
		{
			name: "only ! and no note",
			msg:  "refactor(core)!: rename everything",
			want: conventional.Commit{Type: "refactor", Scope: "core", Breaking: true, Description: "rename everything"},
		},

		// Not conventional.
		{
			name: "plain message",
			msg:  "Update README\n\nSome words.",
			want: conventional.Commit{Description: "Update README", Body: "Some words."},
		},
		{
			name: "no footers are read from a non-conventional message",
			msg:  "Update README\n\nBREAKING CHANGE: no\nRefs: #1",
			want: conventional.Commit{Description: "Update README", Body: "BREAKING CHANGE: no\nRefs: #1"},
		},
		{
			name: "merge branch",
			msg:  "Merge branch 'feature/x' into main",
			want: conventional.Commit{Description: "Merge branch 'feature/x' into main"},
		},
		{
			name: "merge pull request",
			msg:  "Merge pull request #12 from org/feat/x\n\nfeat: add x",
			want: conventional.Commit{Description: "Merge pull request #12 from org/feat/x", Body: "feat: add x"},
		},
		{
			name: "git revert",
			msg:  "Revert \"feat: add x\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.",
			want: conventional.Commit{Description: `Revert "feat: add x"`, Body: "This reverts commit 0123456789abcdef0123456789abcdef01234567."},
		},
		{
			name: "fixup",
			msg:  "fixup! feat: add x",
			want: conventional.Commit{Description: "fixup! feat: add x"},
		},
		{
			name: "no space after the colon",
			msg:  "feat:add x",
			want: conventional.Commit{Description: "feat:add x"},
		},
		{
			name: "empty description",
			msg:  "feat:  \n\nbody",
			want: conventional.Commit{Description: "feat:", Body: "body"},
		},
		{
			name: "space before the scope",
			msg:  "feat (api): x",
			want: conventional.Commit{Description: "feat (api): x"},
		},
		{
			name: "digits in the type",
			msg:  "v2: x",
			want: conventional.Commit{Description: "v2: x"},
		},
		{
			name: "absurd scope",
			msg:  "feat(<script>): x",
			want: conventional.Commit{Description: "feat(<script>): x"},
		},
		{
			name: "URL subject",
			msg:  "https://example.com: x",
			want: conventional.Commit{Description: "https://example.com: x"},
		},
		{
			name: "empty message",
			msg:  " \r\n ",
			want: conventional.Commit{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := conventional.Parse(tt.msg)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.msg, diff)
			}
		})
	}
}
