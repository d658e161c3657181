package conventional

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCompareVersions(t *testing.T) {
	t.Parallel()
	// Increasing precedence, from semver.org §11 plus numeric edge cases.
	ordered := []string{
		"0.0.0", "0.0.1", "0.1.0",
		"1.0.0-0", "1.0.0-2", "1.0.0-10", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
		"1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0",
		"1.0.1", "1.1.0", "1.10.0", "2.0.0", "18446744073709551615.0.0",
	}
	vs := make([]version, len(ordered))
	for i, s := range ordered {
		v, err := parseVersion(s)
		if err != nil {
			t.Fatalf("parseVersion(%q): %v", s, err)
		}
		if got := v.String(); got != s {
			t.Errorf("parseVersion(%q).String() = %q", s, got)
		}
		vs[i] = v
	}
	for i := range vs {
		for j := range vs {
			want := 0
			switch {
			case i < j:
				want = -1
			case i > j:
				want = 1
			}
			if got := compareVersions(vs[i], vs[j]); got != want {
				t.Errorf("compareVersions(%s, %s) = %d, want %d", vs[i], vs[j], got, want)
			}
		}
	}
	a, _ := parseVersion("1.0.0+a")
	b, _ := parseVersion("1.0.0+b")
	if got := compareVersions(a, b); got != 0 {
		t.Errorf("build metadata must not affect precedence: compareVersions(%s, %s) = %d", a, b, got)
	}
}

func TestParseVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want version
	}{
		{"", version{}},
		{"v1.2.3", version{major: 1, minor: 2, patch: 3}},
		{"1.2.3-rc.1+build.5", version{major: 1, minor: 2, patch: 3, pre: "rc.1", build: "build.5"}},
		{"0.0.0-0.a-b", version{pre: "0.a-b"}},
	}
	for _, tt := range tests {
		got, err := parseVersion(tt.in)
		if err != nil {
			t.Errorf("parseVersion(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(version{})); diff != "" {
			t.Errorf("parseVersion(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}
