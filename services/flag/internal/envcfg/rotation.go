package envcfg

import (
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/secrets"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
)

// The guide's rotation policy, and bounds.
const (
	DefaultRotationInterval = 30 * 24 * time.Hour
	DefaultRotationGrace    = 7 * 24 * time.Hour
	MinRotationInterval     = time.Minute
	DefaultGenerateLength   = 32
	DefaultExecTimeout      = time.Minute
	MaxExecTimeout          = 10 * time.Minute
	maxRetryBackoff         = time.Hour
)

// Alphabets of the generate rotator.
var Alphabets = map[string]string{
	"alphanumeric": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	"hex":          "0123456789abcdef",
	"base64url":    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
}

// NormalizePolicy checks a policy and fills its defaults.
func NormalizePolicy(p *configv1.RotationPolicy) (*configv1.RotationPolicy, error) {
	p = proto.Clone(p).(*configv1.RotationPolicy)
	var v errs.Violations
	if p.GetInterval() == nil {
		p.Interval = durationpb.New(DefaultRotationInterval)
	}
	if p.GetGrace() == nil {
		p.Grace = durationpb.New(DefaultRotationGrace)
	}
	interval, grace := p.GetInterval().AsDuration(), p.GetGrace().AsDuration()
	if interval < MinRotationInterval {
		v.Add("policy.interval", "must be at least %s", MinRotationInterval)
	}
	if grace < 0 || grace >= interval {
		v.Add("policy.grace", "must be at least 0 and shorter than the interval (%s)", interval)
	}
	switch r := p.GetRotator().(type) {
	case *configv1.RotationPolicy_Generate:
		if r.Generate.GetLength() == 0 {
			r.Generate.Length = DefaultGenerateLength
		}
		if r.Generate.GetAlphabet() == "" {
			r.Generate.Alphabet = "alphanumeric"
		}
		if n := r.Generate.GetLength(); n < 16 || n > 256 {
			v.Add("policy.generate.length", "must be 16-256, not %d", n)
		}
		if _, ok := Alphabets[r.Generate.GetAlphabet()]; !ok {
			v.Add("policy.generate.alphabet", "%q is not one of alphanumeric, hex, base64url", r.Generate.GetAlphabet())
		}
	case *configv1.RotationPolicy_Exec:
		if len(r.Exec.GetCommand()) == 0 || r.Exec.GetCommand()[0] == "" {
			v.Add("policy.exec.command", "is required: the program that prints the new value")
		}
		if r.Exec.GetTimeout() == nil {
			r.Exec.Timeout = durationpb.New(DefaultExecTimeout)
		}
		if t := r.Exec.GetTimeout().AsDuration(); t <= 0 || t > MaxExecTimeout {
			v.Add("policy.exec.timeout", "must be positive and at most %s", MaxExecTimeout)
		}
	case *configv1.RotationPolicy_Manual:
	default:
		v.Add("policy.rotator", "is required: generate, exec or manual")
	}
	return p, v.Err()
}

// SetRotation decides a secret's policy (nil: none); the first rotation is
// due one interval after now.
func SetRotation(s *SecretSet, name string, p *configv1.RotationPolicy, reason string, now time.Time) ([]proto.Message, error) {
	var v errs.Violations
	checkReason(&v, reason)
	if err := v.Err(); err != nil {
		return nil, err
	}
	if s.Secrets[name] == nil {
		return nil, &errs.NotFoundError{Kind: "secret", ID: name}
	}
	ev := &configv1.SecretRotationSet{Name: name, Reason: reason}
	if p != nil {
		np, err := NormalizePolicy(p)
		if err != nil {
			return nil, err
		}
		ev.Policy, ev.NextRotation = np, timestamppb.New(now.Add(np.GetInterval().AsDuration()))
	}
	return []proto.Message{ev}, nil
}

// latestLive is a secret's newest live version (0 when none).
func latestLive(sec *configv1.Secret) uint64 {
	live := Live(sec)
	if len(live) == 0 {
		return 0
	}
	return live[len(live)-1]
}

// Rotated decides the record of a rotation whose new version the provider
// has stored: the version, and the previous one live until the grace ends.
func Rotated(s *SecretSet, name string, ver secrets.Version, provider, reason string, now time.Time) ([]proto.Message, error) {
	sec := s.Secrets[name]
	if sec == nil {
		return nil, &errs.NotFoundError{Kind: "secret", ID: name}
	}
	added, err := AddVersion(s, name, ver, provider, reason, "")
	if err != nil {
		return nil, err
	}
	interval, grace := DefaultRotationInterval, DefaultRotationGrace
	if p := sec.GetRotation(); p != nil {
		interval, grace = p.GetInterval().AsDuration(), p.GetGrace().AsDuration()
	}
	return append(added, &configv1.SecretRotated{
		Name: name, Version: ver.Number, PreviousVersion: latestLive(sec),
		GraceUntil: timestamppb.New(now.Add(grace)), NextRotation: timestamppb.New(now.Add(interval)),
	}), nil
}

// RotationFailed decides the record of a failed rotation, retried with a
// backoff that doubles from a minute up to an hour.
func RotationFailed(s *SecretSet, name, reason string, attempt uint32, now time.Time) []proto.Message {
	backoff := maxRetryBackoff
	if attempt < 7 {
		backoff = min(maxRetryBackoff, time.Minute<<attempt)
	}
	return []proto.Message{&configv1.SecretRotationFailed{Name: name, Error: reason, Attempt: attempt + 1, RetryAt: timestamppb.New(now.Add(backoff))}}
}

// Work is what is due in an environment's secrets at a time.
type Work struct {
	// Rotate are the secrets due for rotation by their rotator.
	Rotate []string
	// Expired are the versions whose grace period has ended: name → versions.
	Expired map[string][]uint64
	// Overdue are the manual secrets past their date, not yet reported.
	Overdue []proto.Message
}

// Due is the work due at now.
func Due(s *SecretSet, now time.Time) Work {
	w := Work{Expired: map[string][]uint64{}}
	for _, name := range s.Names() {
		sec := s.Secrets[name]
		for _, v := range sec.GetVersions() {
			if !v.GetRevoked() && v.GetExpires() != nil && !v.GetExpires().AsTime().After(now) {
				w.Expired[name] = append(w.Expired[name], v.GetVersion())
			}
		}
		next := sec.GetNextRotation()
		if sec.GetRotation() == nil || next == nil || next.AsTime().After(now) {
			continue
		}
		if _, manual := sec.GetRotation().GetRotator().(*configv1.RotationPolicy_Manual); manual {
			if sec.GetOverdueSince() == nil || !sec.GetOverdueSince().AsTime().Equal(next.AsTime()) {
				w.Overdue = append(w.Overdue, &configv1.SecretRotationOverdue{Name: name, Due: next})
			}
			continue
		}
		w.Rotate = append(w.Rotate, name)
	}
	return w
}

// Next is when something is next due in s (zero when nothing is).
func Next(s *SecretSet) time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, sec := range s.Secrets {
		for _, v := range sec.GetVersions() {
			if !v.GetRevoked() && v.GetExpires() != nil {
				consider(v.GetExpires().AsTime())
			}
		}
		if sec.GetRotation() == nil || sec.GetNextRotation() == nil {
			continue
		}
		if _, manual := sec.GetRotation().GetRotator().(*configv1.RotationPolicy_Manual); manual &&
			sec.GetOverdueSince() != nil && sec.GetOverdueSince().AsTime().Equal(sec.GetNextRotation().AsTime()) {
			continue // reported; nothing to do until someone puts a value
		}
		consider(sec.GetNextRotation().AsTime())
	}
	return next
}

// Attempts is how many rotations of name failed in a row.
func Attempts(s *SecretSet, name string) uint32 { return s.Secrets[name].GetRotationAttempts() }
