package domain

import (
	"github.com/Masterminds/semver/v3"
	"google.golang.org/protobuf/proto"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// Product orders a product's versions and knows what each environment runs.
// It is its own aggregate (floe.evt.product.<name>) so that two releases can
// never take the same version: reserving one is an optimistic-concurrency append.
//
// Its fields are exported so it can be snapshotted as JSON: a product's
// history grows with every release, so loads start from a snapshot.
type Product struct {
	Name string `json:"name"`
	// Versions reserved, in order.
	Versions []string `json:"versions"`
	// Requests maps a CreateRelease request key to the release it created.
	Requests map[string]string `json:"requests"`
	// Deployed maps environment → version it runs now.
	Deployed map[string]string `json:"deployed"`
	// Applied holds request keys of events applied (idempotent reactions).
	Applied map[string]bool `json:"applied"`
}

// NewProduct returns the state of a product with no events.
func NewProduct(name string) *Product {
	return &Product{Name: name, Requests: map[string]string{}, Deployed: map[string]string{}, Applied: map[string]bool{}}
}

// ApplyProduct folds one event (with its id) into the product.
func ApplyProduct(p *Product, ev proto.Message, eventID string) {
	if k := RequestKeyOf(eventID); k != "" {
		p.Applied[k] = true
	}
	switch e := ev.(type) {
	case *releasev1.VersionReserved:
		p.Versions = append(p.Versions, e.GetVersion())
		if e.GetRequestKey() != "" {
			p.Requests[e.GetRequestKey()] = e.GetReleaseId()
		}
	case *releasev1.ProductDeployed:
		if e.GetVersion() == "" {
			delete(p.Deployed, e.GetEnvironment())
		} else {
			p.Deployed[e.GetEnvironment()] = e.GetVersion()
		}
	}
}

// HasRequest reports whether events of the command or reaction with key k are applied.
func (p *Product) HasRequest(k string) bool { return k != "" && p.Applied[k] }

// LatestFinal is the greatest reserved version without a prerelease part, or nil.
func (p *Product) LatestFinal() *semver.Version {
	var best *semver.Version
	for _, s := range p.Versions {
		v, err := semver.StrictNewVersion(s)
		if err != nil || v.Prerelease() != "" {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best = v
		}
	}
	return best
}
