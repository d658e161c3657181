package domain

import (
	"fmt"

	"github.com/Masterminds/semver/v3"

	"github.com/penguinmails/floe/libs/errs"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// ParseVersion parses a strict semantic version (MAJOR.MINOR.PATCH with
// optional -prerelease and +build; no leading "v", no missing parts).
func ParseVersion(s string) (*semver.Version, error) {
	v, err := semver.StrictNewVersion(s)
	if err != nil {
		return nil, fmt.Errorf("%q is not a semantic version MAJOR.MINOR.PATCH (e.g. 2.1.0): %v", s, err)
	}
	return v, nil
}

// checkVersion applies the version rules of a new release against the
// product's history; it returns a description of what is wrong, or "".
//
//   - The version must be greater than every earlier release of the product,
//     except a hotfix (below).
//   - The type must match the bump from the latest final (non-prerelease)
//     version: major = (X+1).0.0, minor = x.(Y+1).0, patch = x.y.(Z+1);
//     numbers are not skipped. A prerelease (2.0.0-rc.1) is judged by its core.
//     The first release of a product only needs the type's shape
//     (major X.0.0, minor x.Y.0, patch any).
//   - A hotfix is a patch on top of what production runs now: same major and
//     minor as production's version, and a patch greater than every earlier
//     release in that line. It may be lower than releases of later lines that
//     are still in flight.
//
// The reason is VERSION_NOT_GREATER for the first rule and
// VERSION_DOES_NOT_MATCH_TYPE for the others.
func checkVersion(v *semver.Version, typ releasev1.ReleaseType, p *Product) (string, errs.Reason) {
	notGreater, mismatch := errorsv1.ErrorReason_ERROR_REASON_VERSION_NOT_GREATER, errorsv1.ErrorReason_ERROR_REASON_VERSION_DOES_NOT_MATCH_TYPE
	if typ == releasev1.ReleaseType_RELEASE_TYPE_HOTFIX {
		prod := p.deployed["production"]
		if prod == "" {
			return "a hotfix patches what production runs, and no release of this product is in production", mismatch
		}
		pv, err := semver.StrictNewVersion(prod)
		if err != nil {
			return "production's version " + prod + " is not semver", mismatch
		}
		if v.Major() != pv.Major() || v.Minor() != pv.Minor() || v.Prerelease() != "" {
			return fmt.Sprintf("a hotfix must be %d.%d.x on top of production's %s", pv.Major(), pv.Minor(), prod), mismatch
		}
		for i, ev := range p.parsed {
			if ev != nil && ev.Major() == v.Major() && ev.Minor() == v.Minor() && !v.GreaterThan(ev) {
				return fmt.Sprintf("a hotfix must be greater than %s, released earlier in the %d.%d line", p.versions[i], v.Major(), v.Minor()), notGreater
			}
		}
		return "", 0
	}
	for i, ev := range p.parsed {
		if ev != nil && !v.GreaterThan(ev) {
			return fmt.Sprintf("%s is not greater than %s, an earlier release of %s", v, p.versions[i], p.name), notGreater
		}
	}
	base := p.LatestFinal()
	if base == nil {
		switch {
		case typ == releasev1.ReleaseType_RELEASE_TYPE_MAJOR && (v.Minor() != 0 || v.Patch() != 0):
			return fmt.Sprintf("a major release is X.0.0, not %s", v), mismatch
		case typ == releasev1.ReleaseType_RELEASE_TYPE_MINOR && v.Patch() != 0:
			return fmt.Sprintf("a minor release is x.Y.0, not %s", v), mismatch
		}
		return "", 0
	}
	var want string
	switch typ {
	case releasev1.ReleaseType_RELEASE_TYPE_MAJOR:
		want = fmt.Sprintf("%d.0.0", base.Major()+1)
	case releasev1.ReleaseType_RELEASE_TYPE_MINOR:
		want = fmt.Sprintf("%d.%d.0", base.Major(), base.Minor()+1)
	case releasev1.ReleaseType_RELEASE_TYPE_PATCH:
		want = fmt.Sprintf("%d.%d.%d", base.Major(), base.Minor(), base.Patch()+1)
	}
	core := fmt.Sprintf("%d.%d.%d", v.Major(), v.Minor(), v.Patch())
	if core != want {
		return fmt.Sprintf("a %s release after %s is %s, not %s", typeName(typ), base, want, v), mismatch
	}
	return "", 0
}

func typeName(t releasev1.ReleaseType) string {
	switch t {
	case releasev1.ReleaseType_RELEASE_TYPE_MAJOR:
		return "major"
	case releasev1.ReleaseType_RELEASE_TYPE_MINOR:
		return "minor"
	case releasev1.ReleaseType_RELEASE_TYPE_PATCH:
		return "patch"
	case releasev1.ReleaseType_RELEASE_TYPE_HOTFIX:
		return "hotfix"
	}
	return "unspecified"
}
