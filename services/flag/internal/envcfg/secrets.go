package envcfg

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/secrets"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	errorsv1 "github.com/penguinmails/floe/proto/gen/floe/errors/v1"
)

// MaxDescription bounds a secret's description.
const MaxDescription = 1000

// SecretSet is the metadata of an environment's secrets: names, versions,
// the key and digest of each, who put and revoked them. Never a value.
type SecretSet struct {
	Environment string
	Version     uint64
	Secrets     map[string]*configv1.Secret
}

// NewSecretSet is an environment's secrets before any event.
func NewSecretSet(env string) *SecretSet {
	return &SecretSet{Environment: env, Secrets: map[string]*configv1.Secret{}}
}

// Apply folds one event.
func (s *SecretSet) Apply(e proto.Message, m Meta) {
	s.Version++
	switch ev := e.(type) {
	case *configv1.SecretVersionAdded:
		sec := s.Secrets[ev.GetName()]
		if sec == nil {
			sec = &configv1.Secret{Environment: s.Environment, Name: ev.GetName(), Reference: secrets.SchemeSecret + "://" + ev.GetName()}
			s.Secrets[ev.GetName()] = sec
		}
		sec.Provider = ev.GetProvider()
		if ev.GetDescription() != "" {
			sec.Description = ev.GetDescription()
		}
		sec.Versions = append(sec.Versions, &configv1.SecretVersion{
			Version: ev.GetVersion(), KeyId: ev.GetKeyId(), Digest: ev.GetDigest(), Actor: m.Actor,
			Created: timestamppb.New(m.Time), Reason: ev.GetReason(), Position: m.Position,
		})
		// A new value, by hand or by a rotator, starts the rotation period again.
		if p := sec.GetRotation(); p != nil {
			sec.NextRotation = timestamppb.New(m.Time.Add(p.GetInterval().AsDuration()))
			sec.OverdueSince, sec.RotationError, sec.RotationAttempts = nil, "", 0
		}
	case *configv1.SecretRotationSet:
		if sec := s.Secrets[ev.GetName()]; sec != nil {
			sec.Rotation, sec.NextRotation, sec.OverdueSince = ev.GetPolicy(), ev.GetNextRotation(), nil
		}
	case *configv1.SecretRotated:
		if sec := s.Secrets[ev.GetName()]; sec != nil {
			if v := s.version(ev.GetName(), ev.GetPreviousVersion()); v != nil && !v.GetRevoked() {
				v.Expires = ev.GetGraceUntil()
			}
			sec.NextRotation, sec.RotationError, sec.RotationAttempts = ev.GetNextRotation(), "", 0
		}
	case *configv1.SecretRotationFailed:
		if sec := s.Secrets[ev.GetName()]; sec != nil {
			sec.RotationError, sec.RotationAttempts, sec.NextRotation = ev.GetError(), ev.GetAttempt(), ev.GetRetryAt()
		}
	case *configv1.SecretRotationOverdue:
		if sec := s.Secrets[ev.GetName()]; sec != nil {
			sec.OverdueSince = ev.GetDue()
		}
	case *configv1.SecretVersionRevoked:
		if v := s.version(ev.GetName(), ev.GetVersion()); v != nil {
			v.Revoked, v.RevokedAt, v.RevokedBy = true, timestamppb.New(m.Time), m.Actor
		}
	case *configv1.SecretVersionRewrapped:
		if v := s.version(ev.GetName(), ev.GetVersion()); v != nil {
			v.KeyId = ev.GetKeyId()
		}
	}
}

func (s *SecretSet) version(name string, n uint64) *configv1.SecretVersion {
	for _, v := range s.Secrets[name].GetVersions() {
		if v.GetVersion() == n {
			return v
		}
	}
	return nil
}

// Names lists the secrets' names, sorted.
func (s *SecretSet) Names() []string {
	out := make([]string, 0, len(s.Secrets))
	for n := range s.Secrets {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// CheckPut checks a put before its value is stored anywhere.
func CheckPut(name, reason, description string, size int) error {
	var v errs.Violations
	secrets.CheckName(&v, "name", name)
	checkReason(&v, reason)
	if len(description) > MaxDescription {
		v.Add("description", "is longer than %d bytes", MaxDescription)
	} else {
		checkNoSecret(&v, "description", description)
	}
	if size == 0 {
		v.Add("value", "is empty")
	}
	return v.Err()
}

// AddVersion decides the record of a version its provider has stored.
func AddVersion(s *SecretSet, name string, ver secrets.Version, provider, reason, description string) ([]proto.Message, error) {
	if err := CheckPut(name, reason, description, 1); err != nil {
		return nil, err
	}
	if last := lastVersion(s.Secrets[name]); ver.Number <= last {
		return nil, &errs.ConflictError{Message: fmt.Sprintf("secret %s already has version %d; version %d cannot follow it", name, last, ver.Number)}
	}
	return []proto.Message{&configv1.SecretVersionAdded{Name: name, Version: ver.Number, KeyId: ver.KeyID, Digest: ver.Digest,
		Provider: provider, Reason: reason, Description: description}}, nil
}

func lastVersion(sec *configv1.Secret) uint64 {
	var last uint64
	for _, v := range sec.GetVersions() {
		last = max(last, v.GetVersion())
	}
	return last
}

// Revoke decides the record of a version's revocation (nothing when it is
// already revoked).
func Revoke(s *SecretSet, name string, version uint64, reason string) ([]proto.Message, error) {
	var vs errs.Violations
	checkReason(&vs, reason)
	if err := vs.Err(); err != nil {
		return nil, err
	}
	v := s.version(name, version)
	if v == nil {
		return nil, &errs.NotFoundError{Kind: "secret version", ID: fmt.Sprintf("%s@%d in %s", name, version, s.Environment)}
	}
	if v.GetRevoked() {
		return nil, nil
	}
	return []proto.Message{&configv1.SecretVersionRevoked{Name: name, Version: version, Reason: reason}}, nil
}

// Live is a secret's live (not revoked) version numbers, oldest first.
func Live(sec *configv1.Secret) []uint64 {
	var out []uint64
	for _, v := range sec.GetVersions() {
		if !v.GetRevoked() {
			out = append(out, v.GetVersion())
		}
	}
	return out
}

// CheckRewrap checks a KEK rotation's reason before any key is touched: it
// is recorded with every SecretVersionRewrapped.
func CheckRewrap(reason string) error {
	var v errs.Violations
	checkReason(&v, reason)
	return v.Err()
}

// Rewrapped decides the records that bring the log up to date with the
// provider after a KEK rotation: stored are the environment's live versions
// as the provider keeps them (Name without the environment, KeyID the KEK
// that wraps the data key), and every version the log records live under
// another KEK gets a SecretVersionRewrapped. Versions the log does not know
// live (revoked, or stored by a put whose record failed) are left alone. A
// rewrap never changes a ciphertext, so a stored digest other than the
// recorded one is refused: the record was replaced outside Floe, and calling
// that a rewrap would hide it.
func Rewrapped(s *SecretSet, stored []secrets.Version, reason string) ([]proto.Message, error) {
	if err := CheckRewrap(reason); err != nil {
		return nil, err
	}
	stored = slices.Clone(stored)
	slices.SortFunc(stored, func(a, b secrets.Version) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return cmp.Compare(a.Number, b.Number)
	})
	var out []proto.Message
	var refused errs.Refusals
	for _, st := range stored {
		v := s.version(st.Name, st.Number)
		if v == nil || v.GetRevoked() || v.GetKeyId() == st.KeyID {
			continue
		}
		if v.GetDigest() != st.Digest {
			refused.Add(errorsv1.ErrorReason_ERROR_REASON_FAILED_PRECONDITION,
				"secret %s@%d in %s: the stored ciphertext's digest is not the one recorded, which a rewrap never changes: its record was replaced outside Floe (revoke that version and put its value again)",
				st.Name, st.Number, s.Environment)
			continue
		}
		out = append(out, &configv1.SecretVersionRewrapped{Name: st.Name, Version: st.Number, KeyId: st.KeyID,
			PreviousKeyId: v.GetKeyId(), Digest: st.Digest, Reason: reason})
	}
	if err := refused.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
