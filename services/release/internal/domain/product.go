package domain

import (
	"encoding/json"

	"github.com/Masterminds/semver/v3"
	"google.golang.org/protobuf/proto"

	releasev1 "github.com/penguinmails/floe/proto/gen/floe/release/v1"
)

// Product orders a product's versions and knows what each environment runs.
// It is its own aggregate (floe.evt.product.<name>) so that two releases can
// never take the same version: reserving one is an optimistic-concurrency
// append. Its history grows with every release, so it is loaded from
// snapshots (MarshalProduct).
type Product struct {
	name string
	// versions reserved, in order, and each parsed (nil when not semver).
	versions []string
	parsed   []*semver.Version
	// latestFinal is the greatest parsed version without a prerelease part.
	latestFinal *semver.Version
	// requests maps the idempotency key of a recent CreateRelease to the
	// release it created (the latest maxProductRequests), so a retry adopts it.
	requests     map[string]string
	requestOrder []string
	// deployed maps environment → version it runs now.
	deployed map[string]string
}

// maxProductRequests bounds the CreateRelease keys a product remembers.
const maxProductRequests = 1000

// NewProduct returns the state of a product with no events.
func NewProduct(name string) *Product {
	return &Product{name: name, requests: map[string]string{}, deployed: map[string]string{}}
}

// Name is the product's name.
func (p *Product) Name() string { return p.name }

// Runs is the version env runs ("" when none).
func (p *Product) Runs(env string) string { return p.deployed[env] }

// ReleaseFor is the release a CreateRelease with idempotency key k reserved its version for.
func (p *Product) ReleaseFor(k string) (string, bool) {
	id, ok := p.requests[k]
	return id, ok && k != ""
}

// ApplyProduct folds one event into the product.
func ApplyProduct(p *Product, ev proto.Message) {
	switch e := ev.(type) {
	case *releasev1.VersionReserved:
		p.addVersion(e.GetVersion())
		if k := e.GetRequestKey(); k != "" {
			if _, ok := p.requests[k]; !ok {
				p.requestOrder = append(p.requestOrder, k)
			}
			p.requests[k] = e.GetReleaseId()
			for len(p.requestOrder) > maxProductRequests {
				delete(p.requests, p.requestOrder[0])
				p.requestOrder = p.requestOrder[1:]
			}
		}
	case *releasev1.ProductDeployed:
		if e.GetVersion() == "" {
			delete(p.deployed, e.GetEnvironment())
		} else {
			p.deployed[e.GetEnvironment()] = e.GetVersion()
		}
	}
}

// addVersion records a reserved version, parsed once: every create checks
// its version against all of them.
func (p *Product) addVersion(s string) {
	v, err := semver.StrictNewVersion(s)
	if err != nil {
		v = nil
	}
	p.versions, p.parsed = append(p.versions, s), append(p.parsed, v)
	if v != nil && v.Prerelease() == "" && (p.latestFinal == nil || v.GreaterThan(p.latestFinal)) {
		p.latestFinal = v
	}
}

// LatestFinal is the greatest reserved version without a prerelease part, or nil.
func (p *Product) LatestFinal() *semver.Version { return p.latestFinal }

// productJSON is a product's snapshot encoding.
type productJSON struct {
	Name         string            `json:"name"`
	Versions     []string          `json:"versions"`
	Requests     map[string]string `json:"requests"`
	RequestOrder []string          `json:"request_order"`
	Deployed     map[string]string `json:"deployed"`
}

// MarshalProduct encodes a product for snapshots.
func MarshalProduct(p *Product) ([]byte, error) {
	return json.Marshal(productJSON{Name: p.name, Versions: p.versions, Requests: p.requests, RequestOrder: p.requestOrder, Deployed: p.deployed})
}

// UnmarshalProduct decodes MarshalProduct's encoding.
func UnmarshalProduct(b []byte) (*Product, error) {
	var j productJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return nil, err
	}
	p := NewProduct(j.Name)
	for _, v := range j.Versions {
		p.addVersion(v)
	}
	p.requestOrder = j.RequestOrder
	for k, v := range j.Requests {
		p.requests[k] = v
	}
	for k, v := range j.Deployed {
		p.deployed[k] = v
	}
	return p, nil
}
