package render

import (
	"cmp"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/penguinmails/floe/services/notifier/internal/routing"
)

// Data is what every template is executed with: one notification to one
// receiver. It is a public contract (TEMPLATES.md documents it): fields are
// added, never renamed or removed.
type Data struct {
	// Reason is why the notification is sent: firing, update, repeat,
	// resolved, notice or escalation.
	Reason string
	// Receiver is the receiver's name.
	Receiver string
	// Status is firing when at least one episode fires (a final one
	// included), notice when the notification tells only of notices,
	// resolved otherwise.
	Status string
	// Marker is the subject's tag: "FIRING:2" (the firing episodes that go
	// on), "ESCALATED:1" (an escalation), "FAILED" (what fires are final
	// episodes only: each ended with a problem), "RESOLVED" or "NOTICE"
	// (only notices).
	Marker string
	// Title names what happened: the episodes' common summary annotation,
	// or the first episode's title followed by "and N more"; one line of
	// at most MaxSubjectRunes.
	Title string
	// Scope is the common environment and product, "production
	// penguinmails", either left out when the episodes differ in it; one
	// line of at most MaxSubjectRunes.
	Scope string
	// Severity is the highest severity (critical > warning > info) of the
	// firing episodes, or of all of them when none fires.
	Severity string
	// GroupKey identifies the group (and the thread) the notification belongs to.
	GroupKey string
	// GroupLabels are the route's group_by labels and their values.
	GroupLabels KV
	// CommonLabels are the labels every episode has with the same value.
	CommonLabels KV
	// CommonAnnotations are the annotations every episode has with the same value.
	CommonAnnotations KV
	// Episodes are what the notification tells of, firing before resolved
	// before notices, then most severe first, then oldest first.
	Episodes Episodes
	// ExternalURL is the Floe console's base URL (http or https), empty when not configured.
	ExternalURL string
	// Time is when the notification was decided; since counts from it.
	Time time.Time
}

// Episode is one episode as a notification tells of it.
type Episode struct {
	// Key identifies the episode (a deployment id, an alert fingerprint).
	Key string
	// Status is firing, resolved or notice (a one-off event, told once).
	Status string
	// Final is set for a firing episode that ended with a problem (a
	// deployment failed or rolled back, a release rejected): this is its
	// last word, nothing will resolve it.
	Final bool
	// Marker is the episode's tag: FIRING, RESOLVED, NOTICE, or FAILED for
	// a final episode.
	Marker string
	// Changed is set when the episode is new, changed or resolved since the
	// receiver's previous notification of the group, and for a notice.
	Changed bool
	// Type is the latest event's type, e.g. floe.deploy.v1.DeploymentFailed.
	Type string
	// Title is the summary annotation, or the type in words ("Deployment
	// failed"); one line of at most MaxSubjectRunes.
	Title string
	// Environment, Product and Severity (info, warning, critical) of the latest event.
	Environment string
	Product     string
	Severity    string
	// Labels are the label set routing matches on: the event's labels plus
	// type, environment, product, severity and episode.
	Labels KV
	// Annotations describe the episode for people: summary, description,
	// reason, url and others depending on the event type.
	Annotations KV
	// URL is the url annotation when it is an absolute http or https URL, else empty.
	URL string
	// Since is when the episode was first seen.
	Since time.Time
	// Time is when the episode's latest event happened.
	Time time.Time
}

// Episodes is a list of episodes.
type Episodes []Episode

// Firing returns the firing episodes, final ones included.
func (es Episodes) Firing() Episodes { return es.filter(routing.StatusFiring) }

// Failed returns the final episodes: firing, and ended with a problem.
func (es Episodes) Failed() Episodes {
	var out Episodes
	for _, e := range es {
		if e.Final {
			out = append(out, e)
		}
	}
	return out
}

// Resolved returns the resolved episodes.
func (es Episodes) Resolved() Episodes { return es.filter(routing.StatusResolved) }

// Notices returns the notices.
func (es Episodes) Notices() Episodes { return es.filter(routing.StatusNotice) }

// Changed returns the episodes new, changed or resolved since the previous notification.
func (es Episodes) Changed() Episodes {
	var out Episodes
	for _, e := range es {
		if e.Changed {
			out = append(out, e)
		}
	}
	return out
}

// First returns at most the first n episodes.
func (es Episodes) First(n int) Episodes {
	if n < 0 {
		n = 0
	}
	return es[:min(n, len(es))]
}

// More returns how many episodes First(n) leaves out.
func (es Episodes) More(n int) int { return max(len(es)-max(n, 0), 0) }

func (es Episodes) filter(status string) Episodes {
	var out Episodes
	for _, e := range es {
		if e.Status == status {
			out = append(out, e)
		}
	}
	return out
}

// KV is a set of labels or annotations.
type KV map[string]string

// Pair is a name and its value.
type Pair struct {
	Name  string
	Value string
}

// Pairs is a list of pairs.
type Pairs []Pair

// Names returns the names, in order.
func (ps Pairs) Names() []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}

// Values returns the values, in order.
func (ps Pairs) Values() []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Value
	}
	return out
}

// SortedPairs returns the pairs sorted by name.
func (kv KV) SortedPairs() Pairs {
	out := make(Pairs, 0, len(kv))
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		out = append(out, Pair{Name: k, Value: kv[k]})
	}
	return out
}

// Names returns the names, sorted.
func (kv KV) Names() []string { return slices.Sorted(maps.Keys(kv)) }

// Values returns the values, sorted by their names.
func (kv KV) Values() []string {
	out := make([]string, 0, len(kv))
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		out = append(out, kv[k])
	}
	return out
}

// Remove returns a copy without the given names.
func (kv KV) Remove(names []string) KV {
	out := maps.Clone(kv)
	for _, n := range names {
		delete(out, n)
	}
	return out
}

// Extra returns a copy without the names every episode's label set has
// (type, environment, product, severity, episode): what the event adds.
func (kv KV) Extra() KV { return kv.Remove(standardLabels) }

var standardLabels = []string{
	routing.LabelType, routing.LabelEnvironment, routing.LabelProduct, routing.LabelSeverity, routing.LabelEpisode,
}

// Limits on what the data carries of an event, so that a huge label or
// annotation cannot blow up every message.
const (
	// MaxValueBytes is the longest label or annotation value kept; longer ones are cut with "…".
	MaxValueBytes = 16 << 10
	// MaxNameBytes is the longest label or annotation name kept.
	MaxNameBytes = 256
)

// NewData builds the data of n for its templates. Every string taken from
// the events is made valid UTF-8, its control characters other than tab
// and newline replaced by U+FFFD (carriage returns become newlines), and
// cut to MaxValueBytes.
func NewData(n routing.Notification, opts Options) *Data {
	d := &Data{
		Reason:      clean(string(n.Reason), MaxNameBytes),
		Receiver:    clean(n.Receiver, MaxNameBytes),
		GroupKey:    clean(n.GroupKey, MaxNameBytes),
		GroupLabels: cleanKV(n.GroupLabels),
		ExternalURL: httpURL(opts.ExternalURL),
		Time:        n.At,
	}
	for _, es := range n.Episodes {
		d.Episodes = append(d.Episodes, newEpisode(es))
	}
	slices.SortStableFunc(d.Episodes, func(a, b Episode) int {
		return cmp.Or(
			cmp.Compare(statusRank(a.Status), statusRank(b.Status)),
			cmp.Compare(severityRank(b.Severity), severityRank(a.Severity)),
			a.Since.Compare(b.Since),
			cmp.Compare(a.Key, b.Key),
		)
	})
	d.CommonLabels = common(d.Episodes, func(e Episode) KV { return e.Labels })
	d.CommonAnnotations = common(d.Episodes, func(e Episode) KV { return e.Annotations })

	firing, failed := len(d.Episodes.Firing()), len(d.Episodes.Failed())
	notices := len(d.Episodes.Notices())
	switch {
	case firing > 0:
		d.Status = routing.StatusFiring
	case notices > 0 && notices == len(d.Episodes):
		d.Status = routing.StatusNotice
	default:
		d.Status = routing.StatusResolved
	}
	switch {
	case n.Reason == routing.ReasonEscalation && firing > 0:
		d.Marker = "ESCALATED:" + strconv.Itoa(firing)
	case firing > failed:
		d.Marker = "FIRING:" + strconv.Itoa(firing-failed)
	case failed > 0:
		d.Marker = "FAILED"
	case d.Status == routing.StatusNotice:
		d.Marker = "NOTICE"
	default:
		d.Marker = "RESOLVED"
	}
	d.Severity = highest(d.Episodes.Firing())
	if firing == 0 {
		d.Severity = highest(d.Episodes)
	}
	d.Scope = shortLine(d.CommonLabels[routing.LabelEnvironment] + " " + d.CommonLabels[routing.LabelProduct])
	switch {
	case d.CommonAnnotations["summary"] != "":
		d.Title = d.CommonAnnotations["summary"]
	case len(d.Episodes) == 0:
		d.Title = "Floe notification"
	case len(d.Episodes) == 1:
		d.Title = d.Episodes[0].Title
	default:
		d.Title = d.Episodes[0].Title + " and " + strconv.Itoa(len(d.Episodes)-1) + " more"
	}
	d.Title = shortLine(d.Title)
	return d
}

func newEpisode(es routing.EpisodeStatus) Episode {
	ev := es.Event
	ls := cleanKV(ev.LabelSet())
	e := Episode{
		Key:         clean(es.Key, MaxNameBytes),
		Status:      routing.StatusFiring,
		Changed:     es.Changed,
		Type:        ls[routing.LabelType],
		Environment: ls[routing.LabelEnvironment],
		Product:     ls[routing.LabelProduct],
		Severity:    ls[routing.LabelSeverity],
		Labels:      ls,
		Annotations: cleanKV(ev.Annotations),
		Since:       es.Since,
		Time:        ev.Time,
	}
	switch {
	case es.Status == routing.StatusResolved || ev.Resolved:
		e.Status = routing.StatusResolved
	case es.Status == routing.StatusNotice || ev.Notice:
		e.Status = routing.StatusNotice
	default:
		e.Final = ev.Final
	}
	e.Marker = strings.ToUpper(e.Status)
	if e.Final {
		e.Marker = "FAILED"
	}
	e.Title = shortLine(e.Annotations["summary"])
	if e.Title == "" {
		e.Title = shortLine(TypeTitle(e.Type))
	}
	e.URL = httpURL(e.Annotations["url"])
	return e
}

// TypeTitle puts an event type in words: "floe.deploy.v1.DeploymentFailed"
// is "Deployment failed".
func TypeTitle(typ string) string {
	name := typ[strings.LastIndexByte(typ, '.')+1:]
	if name == "" {
		return "Event"
	}
	rs := []rune(name)
	var b strings.Builder
	for i, r := range rs {
		switch {
		case r == '_' || r == '-':
			b.WriteByte(' ')
			continue
		case i == 0:
			b.WriteRune(unicode.ToUpper(r))
			continue
		}
		// A word starts at an upper-case letter after a lower-case one or a
		// digit, or at the last capital of an acronym ("HTTPError").
		prev := rs[i-1]
		nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
		if unicode.IsUpper(r) && (unicode.IsLower(prev) || unicode.IsDigit(prev) || unicode.IsUpper(prev) && nextLower) {
			b.WriteByte(' ')
		}
		if unicode.IsUpper(r) && (nextLower || unicode.IsLower(prev)) {
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// common returns the pairs every episode has with the same value.
func common(es []Episode, kv func(Episode) KV) KV {
	out := KV{}
	if len(es) == 0 {
		return out
	}
	maps.Copy(out, kv(es[0]))
	for _, e := range es[1:] {
		m := kv(e)
		for k, v := range out {
			if w, ok := m[k]; !ok || w != v {
				delete(out, k)
			}
		}
	}
	return out
}

func statusRank(s string) int {
	switch s {
	case routing.StatusFiring:
		return 0
	case routing.StatusResolved:
		return 1
	default:
		return 2
	}
}

func severityRank(s string) int {
	switch s {
	case routing.SeverityCritical:
		return 2
	case routing.SeverityWarning:
		return 1
	default:
		return 0
	}
}

func highest(es []Episode) string {
	best := routing.SeverityInfo
	for _, e := range es {
		if severityRank(e.Severity) > severityRank(best) {
			best = e.Severity
		}
	}
	return best
}

// maxURLBytes is Slack's limit on a button's URL, also applied to links elsewhere.
const maxURLBytes = 3000

// httpURL returns s when it is an absolute http or https URL with a host
// and no credentials, of at most maxURLBytes, and "" otherwise.
func httpURL(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxURLBytes || !utf8.ValidString(s) || strings.ContainsFunc(s, unicode.IsControl) {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	return s
}

func cleanKV(m map[string]string) KV {
	out := make(KV, len(m))
	for k, v := range m {
		out[clean(k, MaxNameBytes)] = clean(v, MaxValueBytes)
	}
	return out
}

// clean makes s valid UTF-8 without control characters other than tab
// and newline (a carriage return becomes a newline, others U+FFFD), cut to
// limit bytes.
func clean(s string, limit int) string {
	if limit < len(ellipsis) {
		return ""
	}
	cut := len(s) > limit
	if cut { // cut first: an event may carry megabytes
		i := limit - len(ellipsis)
		for i > 0 && !utf8.RuneStart(s[i]) {
			i--
		}
		s = s[:i]
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\r':
			return '\n'
		case r == '\n' || r == '\t':
			return r
		case unicode.IsControl(r):
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if cut && len(s) <= limit-len(ellipsis) {
		return s + ellipsis
	}
	return truncateBytes(s, limit) // U+FFFD may have made it longer
}

const ellipsis = "…"

// truncateBytes cuts s to at most limit bytes on a rune boundary, ending
// with "…" when it cut.
func truncateBytes(s string, limit int) string {
	if len(s) <= limit {
		return s
	}
	if limit < len(ellipsis) {
		return ""
	}
	i := limit - len(ellipsis)
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + ellipsis
}

// truncateRunes cuts s to at most n runes, ending with "…" when it cut.
func truncateRunes(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	count := 0
	for i := range s {
		if count == n-1 {
			return strings.TrimRight(s[:i], " \t\n") + ellipsis
		}
		count++
	}
	return s
}

// shortLine is s on one line, cut to MaxSubjectRunes.
func shortLine(s string) string { return truncateRunes(oneLine(s), MaxSubjectRunes) }

// oneLine collapses every run of white space in s, newlines included, into one space.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
