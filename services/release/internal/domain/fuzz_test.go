package domain_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/penguinmails/floe/libs/ident"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
	"github.com/penguinmails/floe/services/release/internal/domain"
)

// FuzzParseVersion: versions come from clients. Parsing never panics, and a
// parsed version prints back to exactly its input (strict semver has one form).
func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"2.1.0", "0.0.1", "1.2.3-rc.1+build.5", "v1.2.3", "01.2.3", "1.2", "", "1.2.3-", "9999999999999999999.0.0", "1.2.3-α"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := domain.ParseVersion(s)
		if err != nil {
			return
		}
		if v.Original() != s || v.String() != s {
			t.Errorf("ParseVersion(%q) = %q / %q", s, v.Original(), v.String())
		}
	})
}

// FuzzCreateVersionRules drives the version rules with arbitrary versions
// against a product history: never a panic, and an accepted release is
// always greater than every earlier one (hotfixes aside).
func FuzzCreateVersionRules(f *testing.F) {
	f.Add("2.1.4", "2.2.0", int32(2))
	f.Add("2.1.4", "3.0.0", int32(1))
	f.Add("", "1.0.0", int32(1))
	f.Add("1.0.0-rc.1", "1.0.0", int32(1))
	f.Fuzz(func(t *testing.T, earlier, version string, typ int32) {
		p := domain.NewProduct("p")
		if earlier != "" {
			domain.ApplyProduct(p, &releasev1.VersionReserved{Version: earlier})
		}
		rt := releasev1.ReleaseType(typ)
		_, created, err := domain.Create(domain.CreateCommand{ReleaseID: "r1", Product: "p", Version: version, Type: rt, Title: "t"}, p, domain.DefaultEnvironments())
		if err != nil || rt == releasev1.ReleaseType_RELEASE_TYPE_HOTFIX {
			return
		}
		if earlier != "" {
			ev, e1 := domain.ParseVersion(earlier)
			nv, e2 := domain.ParseVersion(created.GetVersion())
			if e1 == nil && e2 == nil && !nv.GreaterThan(ev) {
				t.Errorf("accepted %s after %s", created.GetVersion(), earlier)
			}
		}
	})
}

// FuzzParseEnvironments: the environments file is operator input.
func FuzzParseEnvironments(f *testing.F) {
	f.Add(domain.DefaultEnvironmentsYAML)
	f.Add("environments:\n  - name: a\n  - name: b\n    after: [a]\n")
	f.Add("environments: [")
	f.Fuzz(func(t *testing.T, s string) {
		envs, err := domain.ParseEnvironments([]byte(s))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, e := range envs.All() {
			for _, a := range e.After {
				if !seen[a] {
					t.Errorf("%s comes after %s, which is not listed before it", e.Name, a)
				}
			}
			seen[e.Name] = true
			if strings.TrimSpace(e.Name) == "" {
				t.Error("empty environment name accepted")
			}
		}
	})
}

// FuzzProductName: the product name rule only narrows ident's: every valid
// product name is an identifier (a subject token and KV key), and it agrees
// with its documented pattern.
func FuzzProductName(f *testing.F) {
	for _, s := range []string{"penguinmails", "floe-demo", "a", strings.Repeat("p", 32), strings.Repeat("p", 33), "", "*", ">", ".", "a.b", "a b",
		"é", "日本", "Shop", "my_shop", "a\x00b", "-", "0"} {
		f.Add(s)
	}
	re := regexp.MustCompile(domain.NamePattern)
	f.Fuzz(func(t *testing.T, s string) {
		valid := domain.ProductName.Valid(s)
		if valid && !ident.Valid(s) {
			t.Fatalf("product name %q is not an identifier", s)
		}
		if want := re.MatchString(s); valid != want {
			t.Fatalf("ProductName.Valid(%q) = %v, NamePattern says %v", s, valid, want)
		}
	})
}
