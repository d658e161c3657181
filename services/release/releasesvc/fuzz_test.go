package releasesvc_test

import (
	"context"
	"testing"

	"github.com/penguinmails/floe/libs/ident/identtest"
	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// fieldsNamed are the fields of identifierFields called name.
func fieldsNamed(e *env, id, name string) []identtest.Field {
	var out []identtest.Field
	for _, f := range identifierFields(e, id) {
		if f.Name == name {
			out = append(out, f)
		}
	}
	return out
}

// FuzzCreateReleaseProduct sends arbitrary products to CreateRelease and
// ListReleases on one running service: never a server fault, and a product
// that is not a product name is InvalidArgument and appends nothing.
func FuzzCreateReleaseProduct(f *testing.F) {
	for _, s := range append(identtest.Seeds(), "penguinmails", "Shop", "my_shop", "p-32-characters-long-product-nam") {
		f.Add(s)
	}
	e := startEnvB(f)
	fields := fieldsNamed(e, "", "product")
	f.Fuzz(func(t *testing.T, s string) { identtest.Check(t, fields, s, e.LogPosition) })
}

// FuzzReleaseID sends arbitrary release ids to every RPC that takes one, on
// one running service holding one release (whose id is a seed).
func FuzzReleaseID(f *testing.F) {
	for _, s := range identtest.Seeds() {
		f.Add(s)
	}
	e := startEnvB(f)
	resp, err := e.client("alice").CreateRelease(context.Background(), &releasev1.CreateReleaseRequest{
		Product: "fuzz", Version: "1.0.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MAJOR, Title: "fuzz",
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(resp.GetRelease().GetId())
	fields := fieldsNamed(e, resp.GetRelease().GetId(), "release_id")
	f.Fuzz(func(t *testing.T, s string) { identtest.Check(t, fields, s, e.LogPosition) })
}

// FuzzReleaseEnvironment sends arbitrary environments to every RPC that
// takes one: only a configured environment gets past the API.
func FuzzReleaseEnvironment(f *testing.F) {
	for _, s := range append(identtest.Seeds(), "staging", "production", "Staging", "moon") {
		f.Add(s)
	}
	e := startEnvB(f)
	resp, err := e.client("alice").CreateRelease(context.Background(), &releasev1.CreateReleaseRequest{
		Product: "fuzz", Version: "1.0.0", Type: releasev1.ReleaseType_RELEASE_TYPE_MAJOR, Title: "fuzz",
	})
	if err != nil {
		f.Fatal(err)
	}
	fields := fieldsNamed(e, resp.GetRelease().GetId(), "environment")
	f.Fuzz(func(t *testing.T, s string) { identtest.Check(t, fields, s, e.LogPosition) })
}
