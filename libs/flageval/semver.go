package flageval

// Semantic versions as golang.org/x/mod/semver (which flagd's sem_ver
// uses) parses and orders them: "v" MAJOR [ "." MINOR [ "." PATCH
// [ "-" PRERELEASE ] [ "+" BUILD ] ] ], numbers without leading zeros,
// "vX" and "vX.Y" meaning vX.0.0 and vX.Y.0, build metadata ignored.
// Masterminds/semver is deliberately not used: it accepts and orders
// versions differently (e.g. leading zeros, four parts), which would change
// flagd's results.

type semver struct {
	major, minor, patch string // decimal digits without leading zeros
	prerelease          string // "-..." or ""
}

func parseSemver(v string) (p semver, ok bool) {
	if v == "" || v[0] != 'v' {
		return p, false
	}
	return parseSemverBody(v[1:])
}

// parseSemverBody parses what follows the leading "v".
func parseSemverBody(v string) (p semver, ok bool) {
	p.major, v, ok = semverInt(v)
	if !ok {
		return p, false
	}
	if v == "" {
		p.minor, p.patch = "0", "0"
		return p, true
	}
	if v[0] != '.' {
		return p, false
	}
	p.minor, v, ok = semverInt(v[1:])
	if !ok {
		return p, false
	}
	if v == "" {
		p.patch = "0"
		return p, true
	}
	if v[0] != '.' {
		return p, false
	}
	p.patch, v, ok = semverInt(v[1:])
	if !ok {
		return p, false
	}
	if len(v) > 0 && v[0] == '-' {
		p.prerelease, v, ok = semverPrerelease(v)
		if !ok {
			return p, false
		}
	}
	if len(v) > 0 && v[0] == '+' {
		v, ok = semverBuild(v)
		if !ok {
			return p, false
		}
	}
	return p, v == ""
}

func semverInt(v string) (t, rest string, ok bool) {
	if v == "" || v[0] < '0' || v[0] > '9' {
		return "", v, false
	}
	i := 1
	for i < len(v) && '0' <= v[i] && v[i] <= '9' {
		i++
	}
	if v[0] == '0' && i != 1 {
		return "", v, false
	}
	return v[:i], v[i:], true
}

func semverPrerelease(v string) (t, rest string, ok bool) {
	i, start := 1, 1
	for i < len(v) && v[i] != '+' {
		if !semverIdentChar(v[i]) && v[i] != '.' {
			return "", v, false
		}
		if v[i] == '.' {
			if start == i || semverBadNum(v[start:i]) {
				return "", v, false
			}
			start = i + 1
		}
		i++
	}
	if start == i || semverBadNum(v[start:i]) {
		return "", v, false
	}
	return v[:i], v[i:], true
}

func semverBuild(v string) (rest string, ok bool) {
	i, start := 1, 1
	for i < len(v) {
		if !semverIdentChar(v[i]) && v[i] != '.' {
			return v, false
		}
		if v[i] == '.' {
			if start == i {
				return v, false
			}
			start = i + 1
		}
		i++
	}
	if start == i {
		return v, false
	}
	return v[i:], true
}

func semverIdentChar(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-'
}

func semverBadNum(v string) bool {
	i := 0
	for i < len(v) && '0' <= v[i] && v[i] <= '9' {
		i++
	}
	return i == len(v) && i > 1 && v[0] == '0'
}

func semverIsNum(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	return true
}

func compareSemver(a, b semver) int {
	if c := compareDecimal(a.major, b.major); c != 0 {
		return c
	}
	if c := compareDecimal(a.minor, b.minor); c != 0 {
		return c
	}
	if c := compareDecimal(a.patch, b.patch); c != 0 {
		return c
	}
	return comparePrerelease(a.prerelease, b.prerelease)
}

func compareDecimal(x, y string) int {
	switch {
	case x == y:
		return 0
	case len(x) != len(y):
		if len(x) < len(y) {
			return -1
		}
		return 1
	case x < y:
		return -1
	}
	return 1
}

func comparePrerelease(x, y string) int {
	if x == y {
		return 0
	}
	if x == "" {
		return 1
	}
	if y == "" {
		return -1
	}
	for x != "" && y != "" {
		x, y = x[1:], y[1:] // skip '-' or '.'
		var dx, dy string
		dx, x = nextIdent(x)
		dy, y = nextIdent(y)
		if dx != dy {
			ix, iy := semverIsNum(dx), semverIsNum(dy)
			if ix != iy {
				if ix {
					return -1
				}
				return 1
			}
			if ix && len(dx) != len(dy) {
				if len(dx) < len(dy) {
					return -1
				}
				return 1
			}
			if dx < dy {
				return -1
			}
			return 1
		}
	}
	if x == "" {
		return -1
	}
	return 1
}

func nextIdent(x string) (dx, rest string) {
	i := 0
	for i < len(x) && x[i] != '.' {
		i++
	}
	return x[:i], x[i:]
}
