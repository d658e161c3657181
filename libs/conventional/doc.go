// Package conventional parses Conventional Commits
// (https://www.conventionalcommits.org/en/v1.0.0/) and suggests the next
// semantic version of a release, with the release changes the commits imply.
// It backs `floe release next --from-commits <git-range>`: run the command
// built by [GitLogArgs], feed its output to [ParseGitLog], and pass the
// commits to [Suggest] together with the current version.
//
// # Parsing
//
// [Parse] reads one full commit message: a subject line, then an optional
// body, then optional footers. CRLF and lone CR line endings are accepted,
// trailing white space is dropped from every line and the message is trimmed.
//
// The subject must look like `type(scope)!: description`:
//
//   - type is one or more ASCII letters and is lower-cased ("Feat" → "feat");
//   - (scope) is optional; it may hold letters, digits, spaces and the
//     characters -_/.,@+* and is trimmed; "feat(): x" has an empty scope;
//   - "!" is optional and marks a breaking change;
//   - the colon must be followed by a space or tab and a non-empty
//     description, which is trimmed.
//
// Anything else is not a conventional commit: Parse returns a [Commit] with an
// empty Type, the trimmed first line as Description and the rest as Body, and
// does not look for footers. Git's own merge and revert subjects
// ("Merge branch 'x'", "Merge pull request #1 from ...", `Revert "feat: x"`)
// and "fixup!"/"squash!" subjects fall in this group because the first word is
// not followed by a colon.
//
// Footers follow the specification: a line `Token: value` or `Token #value`,
// where Token is a letter followed by letters, digits or "-"
// ("Reviewed-by", "Refs", "Closes"), or is exactly "BREAKING CHANGE" or
// "BREAKING-CHANGE" (upper case, as the specification requires). The footer
// section starts at the first paragraph (after the subject) whose first line
// is such a line; from there on, every token line starts a new footer and
// every other line, blank lines included, continues the value of the current
// footer. As a safety net a BREAKING CHANGE line starts the footer section
// even in the middle of a paragraph, so that a breaking change is never
// missed. A consequence of the specification's grammar is that a body
// paragraph beginning with "Word: ..." is read as a footer.
//
// A commit is breaking when its subject has "!" or it has a BREAKING CHANGE /
// BREAKING-CHANGE footer; the footer values, joined by blank lines, are the
// BreakingNote. Refs are collected from the footers Refs, Ref, References,
// See, Closes, Close, Closed, Fixes, Fix, Fixed, Resolves, Resolve, Resolved,
// Issue, Issues and Related (case-insensitive): the value is split at commas
// and white space, surrounding punctuation is trimmed, and the words that
// contain a digit are kept ("#12", "GH-7", "PROJ-123", "owner/repo#4",
// "676104e", a URL), once each, in order. For `Fixes #7` the "#" is kept:
// the ref is "#7".
//
// # Version bump
//
// [Suggest] considers only conventional commits (Type != ""):
//
//   - a breaking commit (any type, "chore!" included) → major;
//   - feat → minor;
//   - fix, perf, security and migration → patch;
//   - refactor, and every other type (chore, docs, style, test, ci, build,
//     revert, ...) → no bump.
//
// The highest bump of the range wins. A range without a bump (only chore,
// docs, style, test, ci, build, refactor or non-conventional commits, or no
// commits at all) gives [BumpNone], an empty Next and Type, and a Reason
// saying no release is needed.
//
// Below 1.0.0 (major version 0) a breaking change bumps the minor version
// (0.3.4 → 0.4.0) and everything else is unchanged: feat → minor, fix → patch.
// This is release-please with its widely used bump-minor-pre-major option
// (feat keeps bumping the minor: bump-patch-for-minor-pre-major is off), and
// it matches Cargo, where 0.x minors are the compatibility boundary. Leaving
// 0.x is a deliberate decision, so this package never proposes 1.0.0 from 0.x
// on its own. Suggest says so in Reasons.
//
// # Versions
//
// The current version must be strict semantic versioning 2.0.0:
// MAJOR.MINOR.PATCH with no leading zeros, an optional -prerelease and an
// optional +build, and optionally a leading "v" ("v1.4.2"); surrounding white
// space is ignored. "" means no release yet and is the same as 0.0.0; from
// there, a fix gives 0.0.1 and a feat or a breaking change gives 0.1.0.
// Anything else is an error that quotes the input.
//
// When the current version is a prerelease such as 1.2.0-rc.1, the next
// version is first the release it leads to, and is bumped further only when
// that release does not cover the bump (the rule of npm's semver.inc, used by
// semantic-release): from 1.2.0-rc.1 a fix or a feat gives 1.2.0 and a
// breaking change gives 2.0.0; from 2.0.0-rc.1 a breaking change gives 2.0.0;
// from 1.2.3-beta a feat gives 1.3.0. (0.0.0-x is treated like 0.0.0.) Build
// metadata of the current version is ignored; Next never has a prerelease or
// build part.
//
// # Release changes
//
// Each feat, fix, perf, refactor, security and migration commit gives one
// [Change], in the order of the commits; its Kind follows from its type:
//
//   - feat → "feature", fix → "bug_fix", perf and refactor → "improvement",
//     security → "security", migration → "migration";
//   - a feat, fix, perf or refactor whose scope is "security" is a
//     "security" change, and one whose scope is "migration" or "migrations"
//     is a "migration" change (scopes compare case-insensitively);
//   - a breaking commit additionally gives a "breaking" change whose Summary
//     is its BreakingNote, or its description when it has none. A breaking
//     commit of another type ("chore!: drop Node 6") gives only that one.
//
// Summary is one line: the description, prefixed with "scope: " when the
// commit has a scope ("api: add scheduling"); white space runs, newlines
// included, become single spaces. Ticket is the commit's first ref.
// Refactors give an improvement change but no bump, so Changes can be
// non-empty when Bump is BumpNone. Every other commit is returned in Skipped.
package conventional
