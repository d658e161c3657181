package episode

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// ErrNoEpisode is returned (wrapped) for a notifiable event that names
// nothing to tie its episode to: a deployment event without a deployment id,
// an alert without a rule. Such an event is malformed; the caller records
// the error and goes on.
var ErrNoEpisode = errors.New("the event names nothing its episode could be tied to")

// DefaultProductionEnvironments are the production-class environments of a
// Mapper that names none.
func DefaultProductionEnvironments() []string { return []string{"production", "prod", "dr"} }

// Mapper maps recorded events to routing events. The zero value is ready to
// use: production-class environments are the defaults, and no Scopes.
type Mapper struct {
	// ProductionEnvironments are the environments whose problems are
	// critical (a failed or rolled-back deployment, a failed secret
	// rotation …) rather than warnings, and whose flag and configuration
	// changes people are told of. Nil means DefaultProductionEnvironments;
	// an empty, non-nil slice means none. Names compare case-insensitively.
	ProductionEnvironments []string
	// Scopes supplies the product, release, version and environment of the
	// events that do not carry them (most deployment, release and gate run
	// events; see Scope). Nil: such events go without them, and routes
	// matching on them do not see those events.
	Scopes Scopes
}

// Map is Mapper{}.Map: default production-class environments, no Scopes.
func Map(ev *eventstore.RecordedEvent) (e routing.Event, ok bool, err error) {
	return Mapper{}.Map(ev)
}

// Map reduces a recorded event to what routing needs; ok is false when
// people are not told of it (an unknown type, a type listed by Ignored, or
// an event of a notifiable type that does not qualify, e.g. a flag change
// outside production-class environments). A known type whose payload does
// not decode is an error (an *eventstore.DecodeError), as is a notifiable
// event naming nothing to tie its episode to (ErrNoEpisode). Map never
// panics and never reads anything but the event and m.Scopes.
func (m Mapper) Map(ev *eventstore.RecordedEvent) (e routing.Event, ok bool, err error) {
	if ev == nil {
		return routing.Event{}, false, nil
	}
	s, known := specs()[ev.Type]
	if !known || s.fill == nil {
		return routing.Event{}, false, nil
	}
	msg := s.newMsg()
	if err := ev.DecodeInto(msg); err != nil {
		return routing.Event{}, false, err
	}
	b := newBuilder(m, ev)
	if !s.fill(b, msg) {
		return routing.Event{}, false, nil
	}
	if b.key == "" {
		return routing.Event{}, false, fmt.Errorf("%s at position %d: %w", ev.Type, ev.Seq, ErrNoEpisode)
	}
	return b.event(), true, nil
}

// IsProduction reports whether env is a production-class environment.
func (m Mapper) IsProduction(env string) bool {
	if env == "" {
		return false
	}
	list := m.ProductionEnvironments
	if list == nil {
		list = DefaultProductionEnvironments()
	}
	return slices.ContainsFunc(list, func(p string) bool { return strings.EqualFold(p, env) })
}

// TypeInfo describes a notifiable event type, for docs and `floe notify` help.
type TypeInfo struct {
	// Type is the event's full protobuf name, e.g. "floe.deploy.v1.DeploymentFailed".
	Type string `json:"type"`
	// Description says in one line what people are told, and when.
	Description string `json:"description"`
	// Episode is the shape of the episode key, e.g. "deployment/<deployment id>".
	Episode string `json:"episode"`
	// Severity is the rule that sets the severity.
	Severity string `json:"severity"`
	// Kind is what the event does to its episode: KindEpisode, KindNotice
	// or KindFinal, or, for a type whose events differ, the kinds with
	// when each applies ("notice; episode (resolves) for an approved
	// proposal").
	Kind string `json:"kind"`
	// Resolves is set when the event resolves its episode.
	Resolves bool `json:"resolves,omitempty"`
	// ResolvedBy are the types that resolve the episode this event opens or
	// updates.
	ResolvedBy []string `json:"resolved_by,omitempty"`
	// EndedBy are the final types that end the episode this event opens or
	// updates with a problem (a rollout's DeploymentFailed, RolledBack).
	// An event of KindEpisode that fires has a type in ResolvedBy or
	// EndedBy, so that its episode does not fire for ever; notices and
	// final events have neither.
	EndedBy []string `json:"ended_by,omitempty"`
}

// The kinds of a notifiable type (TypeInfo.Kind): what its events do to
// their episode, as routing sees them (see the package doc).
const (
	// KindEpisode: the event fires (opens or updates an ongoing episode,
	// told and repeated until it ends) or resolves it.
	KindEpisode = "episode"
	// KindNotice: one-off information that nothing resolves
	// (routing.Event.Notice): told once, then dropped.
	KindNotice = "notice"
	// KindFinal: the bad end of an episode, which nothing resolves
	// (routing.Event.Final): told once, as the episode's last word, then
	// the episode is dropped.
	KindFinal = "final"
)

// IgnoredType is an event type people are deliberately not told of.
type IgnoredType struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// Types lists the notifiable event types, sorted by type.
func Types() []TypeInfo {
	var out []TypeInfo
	for _, s := range specs() {
		if s.fill != nil {
			info := s.info
			info.ResolvedBy, info.EndedBy = slices.Clone(info.ResolvedBy), slices.Clone(info.EndedBy)
			out = append(out, info)
		}
	}
	slices.SortFunc(out, func(a, b TypeInfo) int { return strings.Compare(a.Type, b.Type) })
	return out
}

// Ignored lists the known event types people are not told of, each with the
// reason, sorted by type. Every event type of Floe's events.proto files is in
// Types or here (a test keeps it so), so a new event type is a decision.
func Ignored() []IgnoredType {
	var out []IgnoredType
	for _, s := range specs() {
		if s.fill == nil {
			out = append(out, IgnoredType{Type: s.info.Type, Reason: s.ignore})
		}
	}
	slices.SortFunc(out, func(a, b IgnoredType) int { return strings.Compare(a.Type, b.Type) })
	return out
}

// spec is how one event type is mapped: fill (nil for an ignored type)
// completes the builder from the decoded message and says whether people
// are told of it.
type spec struct {
	info   TypeInfo
	ignore string
	newMsg func() proto.Message
	fill   func(b *builder, msg proto.Message) bool
}

// typeName is the full protobuf name of T.
func typeName[T proto.Message]() string {
	var zero T
	return string(zero.ProtoReflect().Descriptor().FullName())
}

// notify is the spec of a notifiable type; info.Type is set from T, and
// info.Kind is KindEpisode unless set. The fill function marks the event a
// notice or final (b.notice, b.final) as info.Kind says; TestMap checks
// that they agree.
func notify[T proto.Message](info TypeInfo, fill func(b *builder, m T) bool) spec {
	var zero T
	info.Type = typeName[T]()
	if info.Kind == "" {
		info.Kind = KindEpisode
	}
	return spec{
		info:   info,
		newMsg: func() proto.Message { return zero.ProtoReflect().Type().New().Interface() },
		fill:   func(b *builder, msg proto.Message) bool { return fill(b, msg.(T)) },
	}
}

// ignore is the spec of a type people are not told of, with the reason.
func ignore[T proto.Message](reason string) spec {
	return spec{info: TypeInfo{Type: typeName[T]()}, ignore: reason}
}

// specs is the table of every known event type, built once.
var specs = sync.OnceValue(func() map[string]spec {
	out := map[string]spec{}
	for _, group := range [][]spec{releaseSpecs(), deploySpecs(), gateSpecs(), flagSpecs(), configSpecs(), monitorSpecs(), integritySpecs(), notifySpecs(), changeSpecs()} {
		for _, s := range group {
			if _, dup := out[s.info.Type]; dup {
				panic("episode: " + s.info.Type + " is listed twice") // a programming error the tests catch
			}
			out[s.info.Type] = s
		}
	}
	return out
})

// Severity rules as TypeInfo states them.
const (
	ruleProblem   = "critical in a production-class environment, else warning"
	ruleAttention = "warning in a production-class environment, else info"
)

// Limits on the text copied from events into annotations.
const (
	maxSummary = 200
	maxText    = 500
)

// builder accumulates one routing event.
type builder struct {
	m   Mapper
	ev  *eventstore.RecordedEvent
	id  string // the aggregate id
	key string
	e   routing.Event
}

func newBuilder(m Mapper, ev *eventstore.RecordedEvent) *builder {
	id := ev.AggregateID
	if id == "" && ev.Subject != "" {
		if _, sid, _, err := eventstore.ParseSubject(ev.Subject); err == nil {
			id = sid
		}
	}
	b := &builder{m: m, ev: ev, id: id, e: routing.Event{
		Type: ev.Type, Time: ev.Time, Severity: routing.SeverityInfo,
		Labels: map[string]string{}, Annotations: map[string]string{},
	}}
	b.label("actor", ev.Actor)
	b.note("event_id", ev.ID)
	if ev.Seq > 0 {
		b.note("position", strconv.FormatUint(ev.Seq, 10))
	}
	return b
}

// event is the finished routing event.
func (b *builder) event() routing.Event {
	e := b.e
	e.EpisodeKey = b.key
	if e.Annotations["summary"] == "" {
		e.Annotations["summary"] = e.Type
	}
	if len(e.Labels) == 0 {
		e.Labels = nil
	}
	return e
}

// episode sets the episode key: kind/part/part…; empty when any part is
// (Map then reports ErrNoEpisode).
func (b *builder) episode(kind string, parts ...string) {
	if slices.Contains(parts, "") {
		b.key = ""
		return
	}
	b.key = kind + "/" + strings.Join(parts, "/")
}

func (b *builder) env(v string) {
	if b.e.Environment == "" {
		b.e.Environment = v
	}
}

func (b *builder) product(v string) {
	if b.e.Product == "" {
		b.e.Product = v
	}
}

// label sets a matchable label (low cardinality), unless v is empty.
func (b *builder) label(k, v string) {
	if v != "" {
		b.e.Labels[k] = v
	}
}

// note sets an annotation for people, unless v is empty; free text is clipped.
func (b *builder) note(k, v string) {
	if v = strings.TrimSpace(v); v != "" {
		b.e.Annotations[k] = clip(v, maxText)
	}
}

// summary sets the one-line summary.
func (b *builder) summary(format string, args ...any) {
	s := strings.Join(strings.Fields(fmt.Sprintf(format, args...)), " ")
	s = strings.TrimSuffix(s, ":") // an empty reason
	b.e.Annotations["summary"] = clip(s, maxSummary)
}

// describe sets the description from sentences, skipping empty ones.
func (b *builder) describe(sentences ...string) {
	var kept []string
	for _, s := range sentences {
		if s = strings.TrimSpace(s); s != "" {
			kept = append(kept, s)
		}
	}
	if len(kept) > 0 {
		b.e.Annotations["description"] = clip(strings.Join(kept, " "), 4*maxText)
	}
}

// scope fills what the event does not carry from the scope of aggregate id,
// then from the scope of its release (a deployment the table has not seen
// still names its release).
func (b *builder) scope(aggregate, id string) {
	if b.m.Scopes == nil {
		return
	}
	fill := func(aggregate, id string) {
		if id == "" {
			return
		}
		s, ok := b.m.Scopes.Scope(aggregate, id)
		if !ok {
			return
		}
		b.env(s.Environment)
		b.product(s.Product)
		if b.e.Labels["release_id"] == "" {
			b.label("release_id", s.ReleaseID)
		}
		if b.e.Labels["version"] == "" {
			b.label("version", s.Version)
		}
	}
	fill(aggregate, id)
	if aggregate != AggregateRelease && (b.e.Product == "" || b.e.Labels["version"] == "") {
		fill(AggregateRelease, b.e.Labels["release_id"])
	}
}

func (b *builder) production() bool { return b.m.IsProduction(b.e.Environment) }

// problem: critical in a production-class environment, else warning.
func (b *builder) problem() {
	b.e.Severity = routing.SeverityWarning
	if b.production() {
		b.e.Severity = routing.SeverityCritical
	}
}

// attention: warning in a production-class environment, else info.
func (b *builder) attention() {
	b.e.Severity = routing.SeverityInfo
	if b.production() {
		b.e.Severity = routing.SeverityWarning
	}
}

func (b *builder) severity(s string) { b.e.Severity = s }

func (b *builder) resolve() { b.e.Resolved = true }

// notice marks a one-off event: routing tells it once and drops it.
func (b *builder) notice() { b.e.Notice = true }

// final marks the bad end of the episode: routing tells it once, as the
// episode's last word, and drops the episode.
func (b *builder) final() { b.e.Final = true }

// what names the release the event is about, as well as it is known:
// "payments 1.2.0", "version 1.2.0", "release 01J…".
func (b *builder) what() string {
	p, v, r := b.e.Product, b.e.Labels["version"], b.e.Labels["release_id"]
	switch {
	case p != "" && v != "":
		return p + " " + v
	case v != "":
		return "version " + v
	case r != "":
		return "release " + r
	case p != "":
		return p
	}
	return "a release"
}

// in is " in <environment>", or "" when it is not known.
func (b *builder) in() string {
	if b.e.Environment == "" {
		return ""
	}
	return " in " + b.e.Environment
}

// to is " to <environment>", or "".
func (b *builder) to() string {
	if b.e.Environment == "" {
		return ""
	}
	return " to " + b.e.Environment
}

// clip shortens s to at most n runes, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// either is a unless it is empty, else b.
func either(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// because is "Reason: r." or "".
func because(r string) string { return quoted("Reason", r) }

// list joins non-empty values, sorted, with ", ".
func list(vs []string) string {
	var out []string
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ", ")
}

func u64(n uint64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatUint(n, 10)
}

func f64(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
