package conventional

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// semverRE is the regular expression of semver.org for SemVer 2.0.0.
var semverRE = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)` +
	`(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?` +
	`(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$`)

// version is a parsed semantic version.
type version struct {
	major, minor, patch uint64
	pre, build          string
}

// parseVersion parses a strict semantic version with an optional leading "v";
// surrounding white space is ignored and "" is 0.0.0.
func parseVersion(s string) (version, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return version{}, nil
	}
	m := semverRE.FindStringSubmatch(strings.TrimPrefix(t, "v"))
	if m == nil {
		return version{}, fmt.Errorf("conventional: invalid version %q: want MAJOR.MINOR.PATCH with optional -prerelease, +build and leading v", s)
	}
	var n [3]uint64
	for i := range n {
		var err error
		if n[i], err = strconv.ParseUint(m[i+1], 10, 64); err != nil {
			return version{}, fmt.Errorf("conventional: invalid version %q: %q is too large", s, m[i+1])
		}
	}
	return version{major: n[0], minor: n[1], patch: n[2], pre: m[4], build: m[5]}, nil
}

// String formats v without a leading "v".
func (v version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.major, v.minor, v.patch)
	if v.pre != "" {
		s += "-" + v.pre
	}
	if v.build != "" {
		s += "+" + v.build
	}
	return s
}

// release is v without its prerelease and build parts.
func (v version) release() version {
	return version{major: v.major, minor: v.minor, patch: v.patch}
}

// bump returns the version after v for b (see the package documentation for
// prereleases). It fails only when a number would overflow.
func (v version) bump(b Bump) (version, error) {
	next := v.release()
	pre := v.pre != "" && next != (version{})
	overflow := func(part string, n uint64) error {
		if n == math.MaxUint64 {
			return fmt.Errorf("conventional: cannot bump the %s version of %s: it would overflow", part, v)
		}
		return nil
	}
	switch b {
	case BumpMajor:
		if pre && v.minor == 0 && v.patch == 0 {
			return next, nil
		}
		if err := overflow("major", v.major); err != nil {
			return version{}, err
		}
		return version{major: v.major + 1}, nil
	case BumpMinor:
		if pre && v.patch == 0 {
			return next, nil
		}
		if err := overflow("minor", v.minor); err != nil {
			return version{}, err
		}
		return version{major: v.major, minor: v.minor + 1}, nil
	case BumpPatch:
		if pre {
			return next, nil
		}
		if err := overflow("patch", v.patch); err != nil {
			return version{}, err
		}
		next.patch++
		return next, nil
	}
	return v, nil
}

// compareVersions compares a and b by semver precedence: -1, 0 or +1.
func compareVersions(a, b version) int {
	for _, p := range [...][2]uint64{{a.major, b.major}, {a.minor, b.minor}, {a.patch, b.patch}} {
		if c := cmp.Compare(p[0], p[1]); c != 0 {
			return c
		}
	}
	switch {
	case a.pre == b.pre:
		return 0
	case a.pre == "":
		return 1
	case b.pre == "":
		return -1
	}
	as, bs := strings.Split(a.pre, "."), strings.Split(b.pre, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		if c := comparePreID(as[i], bs[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(as), len(bs))
}

// comparePreID compares two prerelease identifiers: numeric ones
// numerically and below alphanumeric ones, which compare in ASCII order.
func comparePreID(a, b string) int {
	an, bn := isNumeric(a), isNumeric(b)
	switch {
	case an && bn:
		// No leading zeros, so the longer number is the larger one.
		if c := cmp.Compare(len(a), len(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	case an:
		return -1
	case bn:
		return 1
	}
	return strings.Compare(a, b)
}

func isNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
