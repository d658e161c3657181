package domain_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

// createCmd is a valid CreateCommand for version and type (targets by type:
// a hotfix goes straight to production).
func createCmd(version string, typ releasev1.ReleaseType) domain.CreateCommand {
	cmd := domain.CreateCommand{
		ReleaseID: relID, RequestKey: "rq-k1", Product: product, Version: version, Type: typ,
		Title: "Faster sends",
	}
	if typ == hotfix {
		cmd.Targets = []string{"production"}
	}
	return cmd
}

func TestParseVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		ok       bool
	}{
		{name: "plain", in: "2.1.0", ok: true},
		{name: "prerelease", in: "2.0.0-rc.1", ok: true},
		{name: "build metadata", in: "2.0.0+build.7", ok: true},
		{name: "zero", in: "0.0.0", ok: true},
		{name: "missing patch", in: "1.2"},
		{name: "missing minor and patch", in: "1"},
		{name: "leading v", in: "v1.2.3"},
		{name: "leading zero", in: "01.2.3"},
		{name: "leading zero in minor", in: "1.02.3"},
		{name: "four parts", in: "1.2.3.4"},
		{name: "empty", in: ""},
		{name: "words", in: "latest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := domain.ParseVersion(tt.in)
			if tt.ok {
				mustOK(t, err)
				if v.Original() != tt.in {
					t.Errorf("ParseVersion(%q) = %s", tt.in, v)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseVersion(%q) = %s, want an error", tt.in, v)
			}
			if want := `"` + tt.in + `" is not a semantic version MAJOR.MINOR.PATCH`; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		})
	}
}

func TestCreateVersionRules(t *testing.T) {
	t.Parallel()
	// history: 2.0.0, 2.1.0 … 2.1.4 released; production runs 2.1.4.
	line21 := []proto.Message{reserved("2.0.0"), reserved("2.1.0"), reserved("2.1.4"), runs("production", "2.1.4")}
	tests := []struct {
		name    string
		history []proto.Message
		version string
		typ     releasev1.ReleaseType
		want    string // the version violation's description; "" = accepted
		prefix  bool   // want is only the start (the semver library's text follows)
	}{
		// Syntax.
		{name: "two parts", version: "1.2", typ: patch, want: `"1.2" is not a semantic version MAJOR.MINOR.PATCH (e.g. 2.1.0): `, prefix: true},
		{name: "leading v", version: "v1.2.3", typ: patch, want: `"v1.2.3" is not a semantic version MAJOR.MINOR.PATCH (e.g. 2.1.0): `, prefix: true},
		{name: "leading zero", version: "01.2.3", typ: patch, want: `"01.2.3" is not a semantic version MAJOR.MINOR.PATCH (e.g. 2.1.0): `, prefix: true},

		// First release: only the type's shape.
		{name: "first major X.0.0", version: "1.0.0", typ: major},
		{name: "first major not X.0.0", version: "1.1.0", typ: major, want: "a major release is X.0.0, not 1.1.0"},
		{name: "first major with patch", version: "1.0.1", typ: major, want: "a major release is X.0.0, not 1.0.1"},
		{name: "first minor x.Y.0", version: "0.3.0", typ: minor},
		{name: "first minor with patch", version: "0.3.1", typ: minor, want: "a minor release is x.Y.0, not 0.3.1"},
		{name: "first patch any", version: "0.3.7", typ: patch},
		{name: "first major prerelease", version: "1.0.0-rc.1", typ: major},
		{name: "only prereleases so far: shape rules", history: []proto.Message{reserved("1.0.0-rc.1")}, version: "1.0.0", typ: major},

		// Bumps from the latest final version, 2.1.4.
		{name: "major bump", history: line21, version: "3.0.0", typ: major},
		{name: "minor bump", history: line21, version: "2.2.0", typ: minor},
		{name: "patch bump", history: line21, version: "2.1.5", typ: patch},
		{name: "minor that skips a number", history: line21, version: "2.3.0", typ: minor, want: "a minor release after 2.1.4 is 2.2.0, not 2.3.0"},
		{name: "major that skips a number", history: line21, version: "4.0.0", typ: major, want: "a major release after 2.1.4 is 3.0.0, not 4.0.0"},
		{name: "patch that skips a number", history: line21, version: "2.1.6", typ: patch, want: "a patch release after 2.1.4 is 2.1.5, not 2.1.6"},
		{name: "minor typed as patch", history: line21, version: "2.2.0", typ: patch, want: "a patch release after 2.1.4 is 2.1.5, not 2.2.0"},
		{name: "patch typed as minor", history: line21, version: "2.1.5", typ: minor, want: "a minor release after 2.1.4 is 2.2.0, not 2.1.5"},
		{name: "minor typed as major", history: line21, version: "2.2.0", typ: major, want: "a major release after 2.1.4 is 3.0.0, not 2.2.0"},

		// Prereleases are judged by their core.
		{name: "minor prerelease", history: line21, version: "2.2.0-rc.1", typ: minor},
		{name: "major prerelease", history: line21, version: "3.0.0-beta.2", typ: major},
		{name: "prerelease of a skipped minor", history: line21, version: "2.3.0-rc.1", typ: minor, want: "a minor release after 2.1.4 is 2.2.0, not 2.3.0-rc.1"},
		{name: "final after its release candidate", history: append(line21, reserved("2.2.0-rc.1")), version: "2.2.0", typ: minor},
		{name: "second release candidate", history: append(line21, reserved("2.2.0-rc.1")), version: "2.2.0-rc.2", typ: minor},

		// Always greater than earlier releases.
		{name: "equal to an earlier release", history: line21, version: "2.1.4", typ: patch, want: "2.1.4 is not greater than 2.1.4, an earlier release of floe"},
		{name: "lower than an earlier release", history: line21, version: "2.0.1", typ: patch, want: "2.0.1 is not greater than 2.1.0, an earlier release of floe"},
		{name: "release candidate after its final", history: append(line21, reserved("2.2.0")), version: "2.2.0-rc.1", typ: minor, want: "2.2.0-rc.1 is not greater than 2.2.0, an earlier release of floe"},

		// Hotfixes patch what production runs.
		{name: "hotfix on production's line", history: line21, version: "2.1.5", typ: hotfix},
		{
			name: "hotfix while a later line is in flight", history: append(line21, reserved("2.2.0")),
			version: "2.1.5", typ: hotfix,
		},
		{
			name: "hotfix after an earlier hotfix of the line", history: append(line21, reserved("2.2.0"), reserved("2.1.5")),
			version: "2.1.6", typ: hotfix,
		},
		{
			name: "hotfix not greater than the line's latest", history: append(line21, reserved("2.1.5")),
			version: "2.1.5", typ: hotfix, want: "a hotfix must be greater than 2.1.5, released earlier in the 2.1 line",
		},
		{
			name: "hotfix below the line's latest", history: line21,
			version: "2.1.3", typ: hotfix, want: "a hotfix must be greater than 2.1.4, released earlier in the 2.1 line",
		},
		{name: "hotfix on another minor", history: line21, version: "2.2.1", typ: hotfix, want: "a hotfix must be 2.1.x on top of production's 2.1.4"},
		{name: "hotfix on another major", history: line21, version: "3.1.5", typ: hotfix, want: "a hotfix must be 2.1.x on top of production's 2.1.4"},
		{name: "hotfix prerelease", history: line21, version: "2.1.5-rc.1", typ: hotfix, want: "a hotfix must be 2.1.x on top of production's 2.1.4"},
		{
			name: "hotfix with nothing in production", history: []proto.Message{reserved("2.1.4"), runs("staging", "2.1.4")},
			version: "2.1.5", typ: hotfix, want: "a hotfix patches what production runs, and no release of this product is in production",
		},
		{
			name: "hotfix follows production after a rollback", history: append(line21, reserved("2.2.0"), runs("production", "2.2.0"), runs("production", "2.1.4")),
			version: "2.1.5", typ: hotfix,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := productFrom(t, tt.history...)
			res, rel, err := domain.Create(createCmd(tt.version, tt.typ), p, envs)
			if tt.want == "" {
				mustOK(t, err)
				if res.GetVersion() != tt.version || rel.GetVersion() != tt.version {
					t.Errorf("reserved %q, created %q, want %q", res.GetVersion(), rel.GetVersion(), tt.version)
				}
				return
			}
			vs := violations(t, err)
			if len(vs) != 1 || vs[0].Field != "version" {
				t.Fatalf("violations = %+v, want exactly one of version", vs)
			}
			got := vs[0].Description
			if tt.prefix && strings.HasPrefix(got, tt.want) || got == tt.want {
				return
			}
			t.Errorf("version violation = %q, want %q", got, tt.want)
		})
	}
}

func TestProductLatestFinal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		history []proto.Message
		want    string
	}{
		{name: "none"},
		{name: "only prereleases", history: []proto.Message{reserved("1.0.0-rc.1")}},
		{name: "greatest, not latest", history: []proto.Message{reserved("2.2.0"), reserved("2.1.5")}, want: "2.2.0"},
		{name: "prereleases ignored", history: []proto.Message{reserved("2.1.0"), reserved("3.0.0-rc.1")}, want: "2.1.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := productFrom(t, tt.history...).LatestFinal()
			if tt.want == "" {
				if got != nil {
					t.Errorf("LatestFinal() = %s, want nil", got)
				}
				return
			}
			if got == nil || got.String() != tt.want {
				t.Errorf("LatestFinal() = %v, want %s", got, tt.want)
			}
		})
	}
}

// Reserving a version is what makes it taken: the next Create of the same
// version, against the product with the reservation applied, is refused.
func TestCreateReservesTheVersion(t *testing.T) {
	t.Parallel()
	p := productFrom(t, reserved("2.1.4"), runs("production", "2.1.4"))
	res, _, err := domain.Create(createCmd("2.2.0", minor), p, envs)
	mustOK(t, err)
	domain.ApplyProduct(p, res)
	if id, ok := p.ReleaseFor("rq-k1"); !ok || id != relID {
		t.Errorf("request rq-k1 not recorded: %q %v", id, ok)
	}
	_, _, err = domain.Create(createCmd("2.2.0", minor), p, envs)
	wantViolation(t, err, "version", "2.2.0 is not greater than 2.2.0, an earlier release of floe")
	wantInvalidReason(t, err, errorsv1.ErrorReason_ERROR_REASON_VERSION_NOT_GREATER)
	_, _, err = domain.Create(createCmd("2.4.0", minor), p, envs)
	wantInvalidReason(t, err, errorsv1.ErrorReason_ERROR_REASON_VERSION_DOES_NOT_MATCH_TYPE)
	// The next minor is now 2.3.0.
	_, _, err = domain.Create(createCmd("2.3.0", minor), p, envs)
	mustOK(t, err)
}
