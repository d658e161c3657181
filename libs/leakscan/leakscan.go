package leakscan

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Hint is the advice every finding carries.
const Hint = "store it as a secret and refer to it as secret://<name>"

// Finding is one secret-looking value.
type Finding struct {
	// Rule is the identifier of the rule that matched, e.g. "github-token".
	Rule string
	// Path is the dotted JSON path of the value for ScanJSON ("database.password",
	// "hosts[2]"); empty for Scan.
	Path string
	// Start and End are byte offsets of the value in the scanned string
	// (for ScanJSON, in the string value or key at Path): text[Start:End].
	Start, End int
	// Description names what was found without revealing it: at most the
	// first four characters are shown, followed by "…".
	Description string
	// Hint says what to do instead.
	Hint string
}

// rule is one detector. Its regular expression runs only when one of its
// keywords occurs in the lower-cased text.
type rule struct {
	id       string
	what     string   // human name for the description
	keywords []string // lower case; any one must be present
	// res are the rule's expressions, each starting with a literal so that
	// Go's matcher skips ahead with a substring search.
	res []*regexp.Regexp
	// find, when set instead of res, is a hand-written matcher returning
	// (start, end) pairs of secrets; lower is text with ASCII lower-cased.
	find func(text, lower string) [][2]int
	// leftBound and rightBound hold the characters that must not touch the
	// match on that side (the match must be a whole token); empty for none.
	leftBound, rightBound string
	// accept, when set, vets the secret (e.g. to drop placeholders).
	accept func(secret string) bool
}

const (
	alnum   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	urlSafe = alnum + "_-"
)

// rules are the token-format rules, most specific first; see the package doc.
var rules = []rule{
	{
		id: "aws-access-key-id", what: "AWS access key id",
		keywords:  []string{"akia", "asia", "abia", "acca", "a3t"},
		res:       append(prefixed(`[A-Z2-7]{16}`, "AKIA", "ASIA", "ABIA", "ACCA"), prefixed(`[A-Z0-9][A-Z2-7]{16}`, "A3T")...),
		leftBound: alnum, rightBound: alnum,
	},
	{
		id: "github-token", what: "GitHub token",
		keywords:  []string{"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"},
		res:       append(prefixed(`[0-9A-Za-z]{36}`, "ghp_", "gho_", "ghu_", "ghs_", "ghr_"), prefixed(`[0-9A-Za-z_]{82}`, "github_pat_")...),
		leftBound: alnum, rightBound: alnum,
	},
	{
		id: "slack-webhook", what: "Slack webhook URL",
		keywords: []string{"hooks.slack.com"},
		res:      prefixed(`(?:services|workflows|triggers)/[A-Za-z0-9+/]{20,120}`, "hooks.slack.com/"),
	},
	{
		id: "slack-token", what: "Slack token",
		keywords: []string{"xox", "xapp-"},
		res: append(prefixed(`[0-9A-Za-z]{6,}(?:-[0-9A-Za-z]{2,})+`, "xoxb-", "xoxa-", "xoxp-", "xoxr-", "xoxs-"),
			prefixed(`\d-[A-Z0-9]{9,}-\d{9,}-[a-z0-9]{40,}`, "xapp-")...),
		leftBound: alnum,
	},
	{
		id: "stripe-key", what: "Stripe secret key",
		keywords:  []string{"sk_live_", "rk_live_", "sk_test_", "rk_test_", "sk_prod_", "rk_prod_"},
		res:       prefixed(`[0-9A-Za-z]{10,99}`, "sk_live_", "rk_live_", "sk_test_", "rk_test_", "sk_prod_", "rk_prod_"),
		leftBound: alnum, rightBound: alnum,
	},
	{
		id: "gcp-api-key", what: "Google API key",
		keywords:  []string{"aiza"},
		res:       prefixed(`[0-9A-Za-z_-]{35}`, "AIza"),
		leftBound: urlSafe, rightBound: urlSafe,
	},
	{
		id: "private-key", what: "private key",
		keywords: []string{"private key"},
		res:      prefixed(`[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----`, "-----BEGIN"),
	},
	{
		id: "jwt", what: "JSON Web Token",
		keywords:  []string{"ey"},
		res:       prefixed(`[A-Za-z0-9_-]{15,}\.ey[A-Za-z0-9_-]{15,}\.[A-Za-z0-9_-]*`, "ey"),
		leftBound: urlSafe, rightBound: urlSafe,
	},
	{
		id: "twilio-api-key", what: "Twilio API key",
		keywords:  []string{"sk"},
		res:       prefixed(`[0-9a-fA-F]{32}`, "SK"),
		leftBound: alnum, rightBound: alnum,
	},
	{
		id: "sendgrid-api-key", what: "SendGrid API key",
		keywords:  []string{"sg."},
		res:       prefixed(`[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}`, "SG."),
		leftBound: alnum, rightBound: urlSafe,
	},
	{
		id: "npm-token", what: "npm token",
		keywords:  []string{"npm_"},
		res:       prefixed(`[A-Za-z0-9]{36}`, "npm_"),
		leftBound: alnum, rightBound: alnum,
	},
	{
		id: "floe-token", what: "Floe API token",
		keywords:  []string{"floe_"},
		res:       prefixed(`[A-Za-z0-9_-]{43}`, "floe_"),
		leftBound: alnum, rightBound: urlSafe,
	},
	{
		id: "url-credentials", what: "password in a URL",
		keywords: []string{"://"},
		find:     findURLCredentials,
	},
	{
		id: "generic-assignment", what: "credential assigned to a secret-named key",
		keywords: assignKeywords,
		find:     findAssignments,
	},
}

// IsReference reports whether s is exactly a secret reference:
// secret://<name> or vault://<path>#<key>, where name and path hold no white
// space, quote, '<', '>' or '#', and key no white space, quote, '<' or '>'.
func IsReference(s string) bool {
	return referenceEnd(s, 0) == len(s) && len(s) > 0
}

// referenceEnd returns the end of the secret reference starting at s[i:], or
// -1 when none starts there.
func referenceEnd(s string, i int) int {
	var vault bool
	switch {
	case strings.HasPrefix(s[i:], "secret://"):
		i += len("secret://")
	case strings.HasPrefix(s[i:], "vault://"):
		i += len("vault://")
		vault = true
	default:
		return -1
	}
	start := i
	for i < len(s) && !isRefEnd(s[i]) && s[i] != '#' {
		i++
	}
	if i == start {
		return -1
	}
	if !vault {
		return i
	}
	if i == len(s) || s[i] != '#' {
		return -1
	}
	i++
	start = i
	for i < len(s) && !isRefEnd(s[i]) {
		i++
	}
	if i == start {
		return -1
	}
	return i
}

func isRefEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '\v', '"', '\'', '<', '>', '`':
		return true
	}
	return false
}

// references returns the spans of the secret references in text.
func references(text string) [][2]int {
	var out [][2]int
	for _, scheme := range []string{"secret://", "vault://"} {
		for from := 0; ; {
			i := strings.Index(text[from:], scheme)
			if i < 0 {
				break
			}
			i += from
			from = i + len(scheme)
			if end := referenceEnd(text, i); end > 0 {
				out = append(out, [2]int{i, end})
			}
		}
	}
	return out
}

// Scan returns the secret-looking values in text, ordered by offset.
func Scan(text string) []Finding {
	if len(text) < 6 {
		return nil
	}
	lower := asciiLower(text)
	var found []Finding
	for i := range rules {
		r := &rules[i]
		if !containsAny(lower, r.keywords) {
			continue
		}
		found = r.scan(text, lower, found)
	}
	found = scanEntropy(text, found)
	if len(found) == 0 {
		return nil
	}
	if strings.Contains(lower, "://") {
		found = dropReferences(text, found)
	}
	sort.SliceStable(found, func(i, j int) bool {
		if found[i].Start != found[j].Start {
			return found[i].Start < found[j].Start
		}
		return found[i].End > found[j].End
	})
	return dropOverlaps(found)
}

func (r *rule) scan(text, lower string, found []Finding) []Finding {
	if r.find != nil {
		for _, m := range r.find(text, lower) {
			found = r.consider(text, m[0], m[1], m[0], m[1], found)
		}
		return found
	}
	for _, re := range r.res {
		for _, m := range re.FindAllStringIndex(text, -1) {
			found = r.consider(text, m[0], m[1], m[0], m[1], found)
		}
	}
	return found
}

// consider records the secret text[start:end] of the match text[ms:me] when
// the match stands alone and the secret passes the rule's check.
func (r *rule) consider(text string, ms, me, start, end int, found []Finding) []Finding {
	if start < 0 || start >= end {
		return found
	}
	if r.leftBound != "" && ms > 0 && strings.IndexByte(r.leftBound, text[ms-1]) >= 0 {
		return found
	}
	if r.rightBound != "" && me < len(text) && strings.IndexByte(r.rightBound, text[me]) >= 0 {
		return found
	}
	secret := text[start:end]
	if r.accept != nil && !r.accept(secret) {
		return found
	}
	return append(found, newFinding(r.id, r.what, secret, start, end))
}

func newFinding(id, what, secret string, start, end int) Finding {
	return Finding{
		Rule:        id,
		Start:       start,
		End:         end,
		Description: fmt.Sprintf("%s %s (%d characters) looks like a secret", what, Redact(secret), utf8.RuneCountInString(secret)),
		Hint:        Hint,
	}
}

// Redact shows at most the first four characters of s (fewer for short
// values, none under eight characters) followed by "…", quoted.
func Redact(s string) string {
	n := min(4, utf8.RuneCountInString(s)/4)
	if utf8.RuneCountInString(s) < 8 {
		n = 0
	}
	prefix := s
	for i := range s {
		if n == 0 {
			prefix = s[:i]
			break
		}
		n--
	}
	return `"` + strings.ToValidUTF8(prefix, "") + `…"`
}

// prefixed compiles one expression per literal prefix: prefix + suffix.
func prefixed(suffix string, prefixes ...string) []*regexp.Regexp {
	res := make([]*regexp.Regexp, len(prefixes))
	for i, p := range prefixes {
		res[i] = regexp.MustCompile(regexp.QuoteMeta(p) + suffix)
	}
	return res
}

// asciiLower lower-cases ASCII letters only, so that byte offsets in the
// result are offsets in s (strings.ToLower may change the length of
// non-ASCII text).
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + ('a' - 'A')
		}
	}
	return string(b)
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// dropReferences removes findings that overlap a secret reference.
func dropReferences(text string, found []Finding) []Finding {
	refs := references(text)
	if len(refs) == 0 {
		return found
	}
	kept := found[:0]
	for _, f := range found {
		overlaps := false
		for _, r := range refs {
			if f.Start < r[1] && r[0] < f.End {
				overlaps = true
				break
			}
		}
		if !overlaps {
			kept = append(kept, f)
		}
	}
	return kept
}

// dropOverlaps keeps, of findings sorted by (start, longest first), the first
// of each group that overlaps; a specific rule found before the entropy rule
// at the same start wins because the sort is stable.
func dropOverlaps(found []Finding) []Finding {
	kept := found[:0]
	end := -1
	for _, f := range found {
		if f.Start < end {
			continue
		}
		kept = append(kept, f)
		end = f.End
	}
	return kept
}

// isPlaceholder reports values that stand for a secret rather than being one.
func isPlaceholder(s string) bool {
	if s == "" {
		return true
	}
	switch s[0] {
	case '<', '$', '%', '{', '[', '(':
		return true
	}
	if strings.Trim(s, "*xX.#-_•") == "" {
		return true
	}
	switch strings.ToLower(s) {
	case "changeme", "password", "passwd", "secret", "token", "redacted", "hidden", "masked",
		"example", "placeholder", "required", "optional", "none", "null", "nil", "true", "false",
		"undefined", "empty", "string":
		return true
	}
	return false
}

// looksLikeCredential vets the value of a generic assignment: long enough,
// not a placeholder, not a URL (url-credentials covers those), and shaped
// like a password (a digit, a symbol or mixed case) rather than a word.
func looksLikeCredential(v string) bool {
	if len(v) < 6 || isPlaceholder(v) || strings.Contains(v, "://") || strings.HasPrefix(v, "//") {
		return false
	}
	var digit, symbol, upperInside, lower bool
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= 'A' && c <= 'Z':
			if i > 0 {
				upperInside = true
			}
		case c == '-' || c == '_' || c == '.' || c == '/':
		default:
			symbol = true
		}
	}
	return digit || symbol || (upperInside && lower)
}
