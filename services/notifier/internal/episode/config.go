package episode

import (
	"fmt"
	"strconv"
	"time"

	"github.com/penguinmails/floe/libs/enumtext"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// No config or secret event carries a secret's value (see
// proto/floe/config/v1/events.proto): documents hold references, secret
// events hold version metadata. Even so, nothing below copies a document,
// a digest of a secret or a key id into a routing event.

const (
	episodeConfig       = "config/<environment>"
	episodeConfigChange = "configchange/<environment>/<proposal>"
	episodeSecret       = "secret/<environment>/<name>"
	episodeSecretRevoke = "secret/<environment>/<name>/v<version>"
)

func sourceText(n int32) string { return enumtext.Name(configv1.ConfigSource(n)) }

// secret ties the builder to a secret of the environment the event's
// aggregate is (secretset.<environment>).
func (b *builder) secret(name string) {
	b.env(b.id)
	b.label("secret", name)
	b.episode("secret", b.id, name)
}

// proposal ties the builder to a configuration change proposal.
func (b *builder) proposal(n uint64) {
	b.env(b.id)
	b.label("proposal", u64(n))
	b.episode("configchange", b.id, u64(n))
}

func configSpecs() []spec {
	versionSet := typeName[*configv1.ConfigVersionSet]()
	rejected := typeName[*configv1.ConfigChangeRejected]()
	rotated, added := typeName[*configv1.SecretRotated](), typeName[*configv1.SecretVersionAdded]()
	return []spec{
		notify(TypeInfo{
			Description: "a new configuration version: a promotion anywhere, any change in a production-class environment, " +
				"or the approved proposal it becomes (which resolves the proposal)",
			Episode: episodeConfig + ", or " + episodeConfigChange + " for an approved proposal", Severity: routing.SeverityInfo,
			Kind: KindNotice + "; " + KindEpisode + " (resolves) for an approved proposal", Resolves: true,
		}, func(b *builder, m *configv1.ConfigVersionSet) bool {
			source := sourceText(m.GetSource())
			b.label("source", source)
			b.label("from_environment", m.GetFromEnvironment())
			b.note("config_version", u64(m.GetVersion()))
			b.note("reason", m.GetReason())
			if m.GetProposal() != 0 {
				b.proposal(m.GetProposal())
				b.resolve()
				b.note("approvers", list(m.GetApprovers()))
				b.summary("Configuration change %d for %s approved: version %d", m.GetProposal(), b.e.Environment, m.GetVersion())
				b.describe(fmt.Sprintf("The configuration of %s is now version %d, approved by %s.", b.e.Environment, m.GetVersion(),
					either(list(m.GetApprovers()), "its approvers")), because(m.GetReason()))
				return true
			}
			b.env(b.id)
			b.episode("config", b.id)
			promotion := m.GetSource() == int32(configv1.ConfigSource_CONFIG_SOURCE_PROMOTION)
			if !promotion && !b.production() {
				return false
			}
			b.notice()
			if promotion {
				b.summary("Configuration of %s promoted to %s (version %d, from %s version %d)", m.GetFromEnvironment(), b.e.Environment,
					m.GetVersion(), m.GetFromEnvironment(), m.GetFromVersion())
			} else {
				b.summary("Configuration of %s changed: version %d: %s", b.e.Environment, m.GetVersion(), m.GetReason())
			}
			b.describe(fmt.Sprintf("%s made version %d of the configuration of %s (%s).", either(b.ev.Actor, "Someone"), m.GetVersion(),
				b.e.Environment, either(source, "change")), because(m.GetReason()))
			return true
		}),
		notify(TypeInfo{
			Description: "a configuration change awaits approvals",
			Episode:     episodeConfigChange, Severity: routing.SeverityWarning, ResolvedBy: []string{versionSet, rejected},
		}, func(b *builder, m *configv1.ConfigChangeProposed) bool {
			b.proposal(m.GetProposal())
			b.severity(routing.SeverityWarning)
			b.label("source", sourceText(m.GetSource()))
			b.label("from_environment", m.GetFromEnvironment())
			b.note("reason", m.GetReason())
			b.note("required_approvals", strconv.FormatUint(uint64(m.GetRequiredApprovals()), 10))
			b.summary("Configuration change %d for %s awaits %d approvals: %s", m.GetProposal(), b.e.Environment, m.GetRequiredApprovals(), m.GetReason())
			b.describe(fmt.Sprintf("%s proposed version %d of the configuration of %s (%s); it takes effect once %d approvers approve it.",
				either(b.ev.Actor, "Someone"), m.GetBaseVersion()+1, b.e.Environment, either(sourceText(m.GetSource()), "change"), m.GetRequiredApprovals()),
				because(m.GetReason()))
			return true
		}),
		notify(TypeInfo{
			Description: "one approval of a configuration change",
			Episode:     episodeConfigChange, Severity: routing.SeverityInfo, ResolvedBy: []string{versionSet, rejected},
		}, func(b *builder, m *configv1.ConfigChangeApproved) bool {
			b.proposal(m.GetProposal())
			b.note("comment", m.GetComment())
			b.summary("%s approved configuration change %d for %s", either(b.ev.Actor, "Someone"), m.GetProposal(), b.e.Environment)
			b.describe(fmt.Sprintf("%s approved configuration change %d for %s (roles: %s).", either(b.ev.Actor, "Someone"), m.GetProposal(),
				b.e.Environment, either(list(m.GetRoles()), "none recorded")), quoted("Comment", m.GetComment()))
			return true
		}),
		notify(TypeInfo{
			Description: "a configuration change was rejected or withdrawn",
			Episode:     episodeConfigChange, Severity: routing.SeverityInfo, Resolves: true,
		}, func(b *builder, m *configv1.ConfigChangeRejected) bool {
			b.proposal(m.GetProposal())
			b.resolve()
			b.note("reason", m.GetReason())
			verb := "rejected"
			if m.GetWithdrawn() {
				verb = "withdrawn"
			}
			b.label("outcome", verb)
			b.summary("Configuration change %d for %s %s by %s: %s", m.GetProposal(), b.e.Environment, verb, either(b.ev.Actor, "someone"), m.GetReason())
			b.describe(fmt.Sprintf("Configuration change %d for %s was %s; it will not take effect.", m.GetProposal(), b.e.Environment, verb),
				because(m.GetReason()))
			return true
		}),
		ignore[*configv1.ConfigSchemaSet]("a validation rule for later documents; it changes no running configuration"),
		notify(TypeInfo{
			Description: "a new version of a secret (metadata only): it resolves a failed or overdue rotation",
			Episode:     episodeSecret, Severity: routing.SeverityInfo, Resolves: true,
		}, func(b *builder, m *configv1.SecretVersionAdded) bool {
			b.secret(m.GetName())
			b.resolve()
			b.note("secret_version", u64(m.GetVersion()))
			b.summary("Secret %s in %s has a new version (%d)", m.GetName(), b.e.Environment, m.GetVersion())
			return true
		}),
		notify(TypeInfo{
			Description: "a version of a secret was revoked (destroyed in its provider), by hand or at the end of a rotation's grace period",
			Episode:     episodeSecretRevoke, Severity: routing.SeverityInfo, Kind: KindNotice,
		}, func(b *builder, m *configv1.SecretVersionRevoked) bool {
			b.env(b.id)
			b.label("secret", m.GetName())
			b.episode("secret", b.id, m.GetName(), "v"+strconv.FormatUint(m.GetVersion(), 10))
			b.notice()
			b.note("secret_version", u64(m.GetVersion()))
			b.note("reason", m.GetReason())
			b.summary("Version %d of secret %s in %s revoked: %s", m.GetVersion(), m.GetName(), b.e.Environment, m.GetReason())
			b.describe(fmt.Sprintf("Version %d of secret %s in %s was revoked; it resolves no more.", m.GetVersion(), m.GetName(), b.e.Environment),
				because(m.GetReason()))
			return true
		}),
		ignore[*configv1.SecretVersionRewrapped]("a key-encryption key rotation rewrapped a version's data key; the value, and what resolves, are unchanged"),
		ignore[*configv1.SecretRotationSet]("a policy change; the rotations it schedules are told when they fail or are overdue"),
		notify(TypeInfo{
			Description: "a secret was rotated: it resolves a failed or overdue rotation",
			Episode:     episodeSecret, Severity: routing.SeverityInfo, Resolves: true,
		}, func(b *builder, m *configv1.SecretRotated) bool {
			b.secret(m.GetName())
			b.resolve()
			b.note("secret_version", u64(m.GetVersion()))
			if m.GetGraceUntil() != nil {
				b.note("grace_until", m.GetGraceUntil().AsTime().UTC().Format(time.RFC3339))
			}
			b.summary("Secret %s in %s rotated (version %d)", m.GetName(), b.e.Environment, m.GetVersion())
			b.describe(fmt.Sprintf("Secret %s in %s was rotated to version %d; version %d stays live until the grace period ends.",
				m.GetName(), b.e.Environment, m.GetVersion(), m.GetPreviousVersion()))
			return true
		}),
		notify(TypeInfo{
			Description: "a secret's rotation failed (it is retried)",
			Episode:     episodeSecret, Severity: ruleProblem, ResolvedBy: []string{rotated, added},
		}, func(b *builder, m *configv1.SecretRotationFailed) bool {
			b.secret(m.GetName())
			b.problem()
			b.note("reason", m.GetError())
			b.note("attempt", strconv.FormatUint(uint64(m.GetAttempt()), 10))
			retry := ""
			if m.GetRetryAt() != nil {
				at := m.GetRetryAt().AsTime().UTC().Format(time.RFC3339)
				b.note("retry_at", at)
				retry = "It is tried again at " + at + "."
			}
			b.summary("Rotation of secret %s in %s failed (attempt %d): %s", m.GetName(), b.e.Environment, m.GetAttempt(), m.GetError())
			b.describe(fmt.Sprintf("The rotation of secret %s in %s failed (attempt %d).", m.GetName(), b.e.Environment, m.GetAttempt()),
				quoted("Error", m.GetError()), retry)
			return true
		}),
		notify(TypeInfo{
			Description: "a secret rotated by hand is past its rotation date",
			Episode:     episodeSecret, Severity: ruleAttention, ResolvedBy: []string{added},
		}, func(b *builder, m *configv1.SecretRotationOverdue) bool {
			b.secret(m.GetName())
			b.attention()
			due := "its rotation date"
			if m.GetDue() != nil {
				due = m.GetDue().AsTime().UTC().Format(time.RFC3339)
				b.note("due", due)
			}
			b.summary("Secret %s in %s is overdue for rotation (due %s)", m.GetName(), b.e.Environment, due)
			b.describe(fmt.Sprintf("Secret %s in %s is rotated by hand and was due at %s; put a new version (floe secrets put %s %s).", m.GetName(), b.e.Environment, due, b.e.Environment, m.GetName()))
			return true
		}),
	}
}
