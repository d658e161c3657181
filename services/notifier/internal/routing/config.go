package routing

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/leakscan"
	"github.com/penguinmails/floe/libs/secrets"
)

// Receiver kinds, one per channel implementation.
const (
	KindSlack   = "slack"
	KindEmail   = "email"
	KindSMS     = "sms"
	KindWebhook = "webhook"
)

// Defaults of the root route, inherited by every route that sets none.
const (
	DefaultGroupWait      = 30 * time.Second
	DefaultGroupInterval  = 5 * time.Minute
	DefaultRepeatInterval = 4 * time.Hour
)

// The names of the top-level templates (and of a receiver's
// settings.templates), as the render package knows them.
const (
	TemplateSubject = "subject"
	TemplateText    = "text"
	TemplateHTML    = "html"
	TemplateSMS     = "sms"
)

// TemplateKeys are the template names the templates mapping may hold.
var TemplateKeys = []string{TemplateSubject, TemplateText, TemplateHTML, TemplateSMS}

// DefaultGroupBy groups by episode, so that each episode is its own group
// and gets its own thread (Alertmanager's default is one group per route).
var DefaultGroupBy = []string{LabelEpisode}

// GroupByAll in group_by groups by every label, as Alertmanager's "...".
const GroupByAll = "..."

// MaxConfigBytes is the largest configuration Parse reads.
const MaxConfigBytes = 1 << 20

// maxNodes bounds the YAML nodes visited (aliases are followed), so a
// document of nested aliases cannot blow up.
const maxNodes = 100_000

// Config is a validated routing configuration. Build it with Parse; its
// routes carry their effective (inherited) settings.
type Config struct {
	Receivers          []Receiver
	Route              *Route
	Silences           []Silence
	MaintenanceWindows []MaintenanceWindow
	// Templates are the top-level message templates by name (TemplateKeys),
	// Go template sources that every receiver uses unless its settings'
	// templates mapping overrides them; nil when there are none. Parse only
	// checks their shape: the render package compiles them (render.Parse
	// with the name "templates").
	Templates map[string]string

	receivers map[string]*Receiver
	routes    map[string]*Route
}

// Receiver is a named destination. Settings are interpreted by the channel
// layer (a Slack channel, email addresses, phone numbers, a URL); every
// credential in them is a secret reference.
type Receiver struct {
	Name     string
	Kind     string
	Settings map[string]any
}

// Route is a node of the routing tree.
type Route struct {
	// Name, when set, identifies the route in group keys and notification
	// IDs, so that reordering the tree keeps them; Path is used otherwise.
	Name string
	// Path is where the route is in the configuration ("route.routes[1]").
	Path     string
	Matchers Matchers
	// Receivers are told of the route's groups (inherited when unset).
	Receivers []string
	// Continue lets matching go on to the following siblings after this route matched.
	Continue bool
	// GroupBy are the label names whose values split the route's events into
	// groups; GroupByAll ("...") means every label.
	GroupBy []string
	// GroupWait is how long a new group waits for more events before its first notification.
	GroupWait time.Duration
	// GroupInterval is how long after a notification a group waits before telling of changes.
	GroupInterval time.Duration
	// RepeatInterval is how long after a notification an unchanged, still firing group is told again.
	RepeatInterval time.Duration
	// Cooldown holds back an episode that fires again within Cooldown of its
	// resolution being told, so that a flapping episode is not re-announced
	// each time; zero disables it.
	Cooldown time.Duration
	// Escalation, when set, also tells other receivers of critical episodes not acknowledged in time.
	Escalation *Escalation
	Routes     []*Route
}

// ID identifies the route in group keys and notification IDs: its name, or its path.
func (r *Route) ID() string {
	if r.Name != "" {
		return r.Name
	}
	return r.Path
}

// groupAll reports whether the route groups by every label.
func (r *Route) groupAll() bool { return slices.Contains(r.GroupBy, GroupByAll) }

// Escalation tells Receivers of a critical episode that nobody acknowledged
// within After of its first notification.
type Escalation struct {
	After     time.Duration
	Receivers []string
}

// Silence mutes the events its matchers match from StartsAt until EndsAt.
type Silence struct {
	ID        string
	Matchers  Matchers
	StartsAt  time.Time
	EndsAt    time.Time
	CreatedBy string
	Comment   string
}

// Active reports whether the silence is in force at t.
func (s Silence) Active(t time.Time) bool { return !t.Before(s.StartsAt) && t.Before(s.EndsAt) }

// MaintenanceWindow mutes an environment's events (those its optional
// matchers match) during recurring weekly time intervals.
type MaintenanceWindow struct {
	Name          string
	Environments  []string
	Matchers      Matchers
	TimeIntervals []TimeInterval
}

// Active reports whether the window is in force at t.
func (w MaintenanceWindow) Active(t time.Time) bool {
	for _, ti := range w.TimeIntervals {
		if ti.Contains(t) {
			return true
		}
	}
	return false
}

// Applies reports whether the window covers events with labels (environment and matchers).
func (w MaintenanceWindow) Applies(labels map[string]string) bool {
	return slices.Contains(w.Environments, labels[LabelEnvironment]) && w.Matchers.Matches(labels)
}

func (w MaintenanceWindow) nextBoundary(t time.Time) time.Time {
	var best time.Time
	for _, ti := range w.TimeIntervals {
		if b := ti.nextBoundary(t); !b.IsZero() && (best.IsZero() || b.Before(best)) {
			best = b
		}
	}
	return best
}

// Receiver returns the named receiver.
func (c *Config) Receiver(name string) (*Receiver, bool) {
	r, ok := c.receivers[name]
	return r, ok
}

// RouteByID returns the route with the given ID (see Route.ID).
func (c *Config) RouteByID(id string) (*Route, bool) {
	r, ok := c.routes[id]
	return r, ok
}

// Parse reads a YAML routing configuration and validates it, reporting every
// problem at once as an *errs.InvalidArgumentError whose fields are paths
// such as "route.routes[1].matchers[0]" or "receivers[2].settings.token".
// Unknown fields are errors.
func Parse(data []byte) (*Config, error) {
	if len(data) > MaxConfigBytes {
		return nil, errs.Invalid("(document)", "is %d bytes, over the limit of %d", len(data), MaxConfigBytes)
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, errs.Invalid("(document)", "is not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errs.Invalid("(document)", "holds more than one YAML document")
	}
	p := &parser{}
	cfg := p.config(&doc)
	if err := p.v.Err(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parser walks the YAML nodes, collecting every violation with its path.
type parser struct {
	v     errs.Violations
	nodes int
}

// add records a violation; the document itself is "(document)".
func (p *parser) add(path, format string, args ...any) {
	if path == "" {
		path = "(document)"
	}
	p.v.Add(path, format, args...)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return leakscan.KeyPath(path, key)
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// node follows aliases and counts nodes; nil when n is absent, null or over budget.
func (p *parser) node(n *yaml.Node, path string) *yaml.Node {
	for depth := 0; n != nil && n.Kind == yaml.AliasNode; depth++ {
		if depth > 100 {
			p.add(path, "aliases nest too deep")
			return nil
		}
		n = n.Alias
	}
	if n == nil || n.Kind == 0 {
		return nil
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return nil
		}
		return p.node(n.Content[0], path)
	}
	p.nodes++
	if p.nodes == maxNodes {
		p.add(path, "the document has more than %d nodes (counting aliases)", maxNodes)
	}
	if p.nodes >= maxNodes {
		return nil
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	return n
}

// fields reads a mapping, reporting keys that are not known.
func (p *parser) fields(n *yaml.Node, path string, known ...string) map[string]*yaml.Node {
	n = p.node(n, path)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		p.add(path, "must be a mapping with the fields %s", strings.Join(known, ", "))
		return nil
	}
	out := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := p.node(n.Content[i], path)
		if k == nil || k.Kind != yaml.ScalarNode {
			p.add(path, "has a key that is not a string")
			continue
		}
		key := k.Value
		switch {
		case !slices.Contains(known, key):
			p.add(join(path, key), "is not a known field: want one of %s", strings.Join(known, ", "))
		case out[key] != nil:
			p.add(join(path, key), "is given twice")
		default:
			out[key] = n.Content[i+1]
		}
	}
	return out
}

func (p *parser) seq(n *yaml.Node, path string) []*yaml.Node {
	n = p.node(n, path)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.add(path, "must be a list")
		return nil
	}
	return n.Content
}

func (p *parser) str(n *yaml.Node, path string) string {
	n = p.node(n, path)
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		p.add(path, "must be a string")
		return ""
	}
	return n.Value
}

func (p *parser) strs(n *yaml.Node, path string) []string {
	var out []string
	for i, c := range p.seq(n, path) {
		out = append(out, p.str(c, index(path, i)))
	}
	return out
}

func (p *parser) boolean(n *yaml.Node, path string) bool {
	n = p.node(n, path)
	if n == nil {
		return false
	}
	var b bool
	if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
		p.add(path, "must be true or false")
	}
	return b
}

// duration reads a Go duration string ("30s", "5m", "4h"); nil when absent.
func (p *parser) duration(n *yaml.Node, path string) *time.Duration {
	n = p.node(n, path)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		p.add(path, "must be a duration such as 30s, 5m or 4h")
		return nil
	}
	if n.Value == "0" {
		d := time.Duration(0)
		return &d
	}
	d, err := time.ParseDuration(n.Value)
	switch {
	case err != nil:
		p.add(path, "%s is not a duration: want e.g. 30s, 5m or 4h", strconv.Quote(n.Value))
		return nil
	case d < 0:
		p.add(path, "must not be negative")
		return nil
	}
	return &d
}

func (p *parser) timestamp(n *yaml.Node, path string) time.Time {
	s := p.str(n, path)
	if s == "" {
		p.add(path, "is required: want an RFC 3339 time such as 2026-05-01T22:00:00Z")
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		p.add(path, "%s is not an RFC 3339 time such as 2026-05-01T22:00:00Z", strconv.Quote(s))
	}
	return t
}

func (p *parser) matchers(n *yaml.Node, path string) Matchers {
	var out Matchers
	for i, c := range p.seq(n, path) {
		s := p.str(c, index(path, i))
		m, err := ParseMatcher(s)
		if err != nil {
			p.add(index(path, i), "%v", err)
			continue
		}
		out = append(out, m)
	}
	return out
}

// value reads a free-form settings value as JSON would decode it (maps with
// string keys, lists, strings, numbers, booleans, null).
func (p *parser) value(n *yaml.Node, path string, depth int) any {
	if depth > 32 {
		p.add(path, "nests deeper than 32 levels")
		return nil
	}
	n = p.node(n, path)
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := p.node(n.Content[i], path)
			if k == nil || k.Kind != yaml.ScalarNode {
				p.add(path, "has a key that is not a string")
				continue
			}
			if _, dup := m[k.Value]; dup {
				p.add(join(path, k.Value), "is given twice")
				continue
			}
			m[k.Value] = p.value(n.Content[i+1], join(path, k.Value), depth+1)
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			l = append(l, p.value(c, index(path, i), depth+1))
		}
		return l
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!bool":
			var b bool
			if n.Decode(&b) == nil {
				return b
			}
		case "!!int", "!!float":
			var f float64
			if n.Decode(&f) == nil {
				return f
			}
		}
		return n.Value
	}
	p.add(path, "is not a value")
	return nil
}

var (
	rootFields   = []string{"receivers", "route", "silences", "maintenance_windows", "templates"}
	recvFields   = []string{"name", "kind", "settings"}
	routeFields  = []string{"name", "matchers", "receivers", "continue", "group_by", "group_wait", "group_interval", "repeat_interval", "cooldown", "escalation", "routes"}
	escFields    = []string{"after", "receivers"}
	silFields    = []string{"id", "matchers", "starts_at", "ends_at", "created_by", "comment"}
	windowFields = []string{"name", "environments", "matchers", "time_intervals"}
	tiFields     = []string{"weekdays", "times", "location"}
	rangeFields  = []string{"start_time", "end_time"}
	kinds        = []string{KindSlack, KindEmail, KindSMS, KindWebhook}
	nameRule     = "1-64 letters, digits, '.', '-' or '_', starting with a letter or digit"
)

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || i > 0 && strings.ContainsRune("._-", c)
		if !ok {
			return false
		}
	}
	return true
}

func (p *parser) config(doc *yaml.Node) *Config {
	f := p.fields(doc, "", rootFields...)
	cfg := &Config{receivers: map[string]*Receiver{}, routes: map[string]*Route{}}
	seen := map[string]bool{}
	for i, n := range p.seq(f["receivers"], "receivers") {
		r := p.receiver(n, index("receivers", i))
		if r.Name == "" {
			continue
		}
		if seen[r.Name] {
			p.add(index("receivers", i)+".name", "%s is defined twice", strconv.Quote(r.Name))
			continue
		}
		seen[r.Name] = true
		cfg.Receivers = append(cfg.Receivers, r)
	}
	for i := range cfg.Receivers {
		cfg.receivers[cfg.Receivers[i].Name] = &cfg.Receivers[i]
	}
	root := &Route{
		GroupBy: DefaultGroupBy, GroupWait: DefaultGroupWait, GroupInterval: DefaultGroupInterval,
		RepeatInterval: DefaultRepeatInterval,
	}
	if p.node(f["route"], "route") == nil {
		p.add("route", "is required: the root route names the default receivers")
	} else {
		cfg.Route = p.route(cfg, f["route"], "route", root, true)
	}
	ids := map[string]bool{}
	for i, n := range p.seq(f["silences"], "silences") {
		s := p.silence(n, index("silences", i))
		if s.ID != "" && ids[s.ID] {
			p.add(index("silences", i)+".id", "%s is used twice", strconv.Quote(s.ID))
		}
		ids[s.ID] = true
		cfg.Silences = append(cfg.Silences, s)
	}
	names := map[string]bool{}
	for i, n := range p.seq(f["maintenance_windows"], "maintenance_windows") {
		w := p.window(n, index("maintenance_windows", i))
		if w.Name != "" && names[w.Name] {
			p.add(index("maintenance_windows", i)+".name", "%s is defined twice", strconv.Quote(w.Name))
		}
		names[w.Name] = true
		cfg.MaintenanceWindows = append(cfg.MaintenanceWindows, w)
	}
	cfg.Templates = p.templates(f["templates"], "templates")
	return cfg
}

// templates reads a mapping of template names to template sources, which
// the render package compiles; nil when absent or empty.
func (p *parser) templates(n *yaml.Node, path string) map[string]string {
	f := p.fields(n, path, TemplateKeys...)
	var out map[string]string
	for _, key := range TemplateKeys {
		tn := p.node(f[key], join(path, key))
		if tn == nil {
			if f[key] != nil {
				p.add(join(path, key), "is empty: leave it out to use the default")
			}
			continue
		}
		if tn.Kind != yaml.ScalarNode {
			p.add(join(path, key), "must be a string: a Go template")
			continue
		}
		src := tn.Value
		switch fs := leakscan.Scan(src); {
		case strings.TrimSpace(src) == "":
			p.add(join(path, key), "is empty: leave it out to use the default")
			continue
		case len(fs) > 0:
			p.add(join(path, key), "holds what looks like a credential (%s): %s", fs[0].Description, leakscan.Hint)
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[key] = src
	}
	return out
}

// secretSetting reports whether a settings key holds a credential: any key
// leakscan names one (token, password, secret, api_key …), and a Slack
// receiver's webhook URL, which is itself the credential.
func secretSetting(kind, key string) bool {
	if leakscan.IsSecretKey(key) {
		return true
	}
	k := strings.ToLower(strings.NewReplacer("_", "", "-", "").Replace(key))
	return kind == KindSlack && (k == "url" || k == "webhookurl")
}

func (p *parser) receiver(n *yaml.Node, path string) Receiver {
	f := p.fields(n, path, recvFields...)
	r := Receiver{Name: p.str(f["name"], path+".name"), Kind: p.str(f["kind"], path+".kind")}
	if !validName(r.Name) {
		p.add(path+".name", "is required: %s", nameRule)
		r.Name = ""
	}
	if !slices.Contains(kinds, r.Kind) {
		p.add(path+".kind", "must be one of %s", strings.Join(kinds, ", "))
	}
	if sn := p.node(f["settings"], path+".settings"); sn != nil {
		if sn.Kind != yaml.MappingNode {
			p.add(path+".settings", "must be a mapping")
		} else if m, ok := p.value(sn, path+".settings", 0).(map[string]any); ok {
			r.Settings = m
			p.checkSecrets(r.Kind, m, path+".settings")
		}
	}
	return r
}

// checkSecrets refuses credentials written literally in settings: a key
// naming a credential must hold a secret reference, and no other value may
// look like one.
func (p *parser) checkSecrets(kind string, v any, path string) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			child, cp := v[k], join(path, k)
			if !secretSetting(kind, k) {
				p.checkSecrets(kind, child, cp)
				continue
			}
			switch s, ok := child.(string); {
			case child == nil:
			case !ok:
				p.add(cp, "holds a credential: want a secret reference such as secret://<name>")
			case secrets.IsRef(s):
				secrets.CheckRef(&p.v, cp, s)
			default:
				p.add(cp, "holds a credential written literally: %s", leakscan.Hint)
			}
		}
	case []any:
		for i, c := range v {
			p.checkSecrets(kind, c, index(path, i))
		}
	case string:
		if secrets.IsRef(v) {
			secrets.CheckRef(&p.v, path, v)
			return
		}
		if fs := leakscan.Scan(v); len(fs) > 0 {
			p.add(path, "holds what looks like a credential (%s): %s", fs[0].Description, leakscan.Hint)
		}
	}
}

func (p *parser) route(cfg *Config, n *yaml.Node, path string, parent *Route, root bool) *Route {
	f := p.fields(n, path, routeFields...)
	r := &Route{
		Path: path, Name: p.str(f["name"], path+".name"),
		Receivers: parent.Receivers, GroupBy: parent.GroupBy, GroupWait: parent.GroupWait,
		GroupInterval: parent.GroupInterval, RepeatInterval: parent.RepeatInterval,
		Cooldown: parent.Cooldown, Escalation: parent.Escalation,
	}
	if r.Name != "" && !validName(r.Name) {
		p.add(path+".name", "is not valid: %s", nameRule)
	}
	if _, dup := cfg.routes[r.ID()]; dup {
		p.add(path+".name", "%s names two routes", strconv.Quote(r.ID()))
	}
	cfg.routes[r.ID()] = r
	r.Matchers = p.matchers(f["matchers"], path+".matchers")
	if root && len(r.Matchers) > 0 {
		p.add(path+".matchers", "the root route matches every event: move the matchers to a child route")
	}
	if f["receivers"] != nil {
		r.Receivers = p.receiverNames(cfg, f["receivers"], path+".receivers")
	}
	if root && len(r.Receivers) == 0 {
		p.add(path+".receivers", "is required on the root route: events no other route takes go there")
	}
	if root && f["continue"] != nil {
		p.add(path+".continue", "is meaningless on the root route")
	}
	r.Continue = p.boolean(f["continue"], path+".continue")
	if f["group_by"] != nil {
		r.GroupBy = p.strs(f["group_by"], path+".group_by")
		for i, l := range r.GroupBy {
			if l != GroupByAll && !matcherName.MatchString(l) {
				p.add(index(path+".group_by", i), "%s is not a label name", strconv.Quote(l))
			}
		}
		if r.groupAll() && len(r.GroupBy) > 1 {
			p.add(path+".group_by", "%q groups by every label and cannot be combined with other names", GroupByAll)
		}
	}
	if d := p.duration(f["group_wait"], path+".group_wait"); d != nil {
		r.GroupWait = *d
	}
	if d := p.duration(f["group_interval"], path+".group_interval"); d != nil {
		r.GroupInterval = *d
		if *d == 0 {
			p.add(path+".group_interval", "must be positive")
		}
	}
	if d := p.duration(f["repeat_interval"], path+".repeat_interval"); d != nil {
		r.RepeatInterval = *d
		if *d == 0 {
			p.add(path+".repeat_interval", "must be positive")
		}
	}
	if d := p.duration(f["cooldown"], path+".cooldown"); d != nil {
		r.Cooldown = *d
	}
	if en := p.node(f["escalation"], path+".escalation"); en != nil {
		ef := p.fields(en, path+".escalation", escFields...)
		e := &Escalation{Receivers: p.receiverNames(cfg, ef["receivers"], path+".escalation.receivers")}
		if d := p.duration(ef["after"], path+".escalation.after"); d == nil || *d == 0 {
			p.add(path+".escalation.after", "is required: how long a critical episode may stay unacknowledged, e.g. 15m")
		} else {
			e.After = *d
		}
		if len(e.Receivers) == 0 {
			p.add(path+".escalation.receivers", "is required: who to tell when nobody acknowledged in time")
		}
		r.Escalation = e
	}
	for i, c := range p.seq(f["routes"], path+".routes") {
		if cr := p.route(cfg, c, index(path+".routes", i), r, false); cr != nil {
			r.Routes = append(r.Routes, cr)
		}
	}
	return r
}

func (p *parser) receiverNames(cfg *Config, n *yaml.Node, path string) []string {
	names := p.strs(n, path)
	for i, name := range names {
		switch {
		case cfg.receivers[name] == nil:
			p.add(index(path, i), "%s is not a receiver defined under receivers", strconv.Quote(name))
		case slices.Index(names, name) != i:
			p.add(index(path, i), "%s is listed twice", strconv.Quote(name))
		}
	}
	return names
}

func (p *parser) silence(n *yaml.Node, path string) Silence {
	f := p.fields(n, path, silFields...)
	s := Silence{
		ID: p.str(f["id"], path+".id"), Matchers: p.matchers(f["matchers"], path+".matchers"),
		StartsAt: p.timestamp(f["starts_at"], path+".starts_at"), EndsAt: p.timestamp(f["ends_at"], path+".ends_at"),
		CreatedBy: p.str(f["created_by"], path+".created_by"), Comment: p.str(f["comment"], path+".comment"),
	}
	if !validName(s.ID) {
		p.add(path+".id", "is required: %s", nameRule)
	}
	if len(s.Matchers) == 0 && p.node(f["matchers"], path+".matchers") == nil {
		p.add(path+".matchers", "is required: a silence without matchers would mute everything")
	}
	if !s.StartsAt.IsZero() && !s.EndsAt.IsZero() && !s.EndsAt.After(s.StartsAt) {
		p.add(path+".ends_at", "must be after starts_at")
	}
	if strings.TrimSpace(s.CreatedBy) == "" {
		p.add(path+".created_by", "is required: who silenced")
	}
	if strings.TrimSpace(s.Comment) == "" {
		p.add(path+".comment", "is required: why")
	}
	return s
}

func (p *parser) window(n *yaml.Node, path string) MaintenanceWindow {
	f := p.fields(n, path, windowFields...)
	w := MaintenanceWindow{
		Name: p.str(f["name"], path+".name"), Environments: p.strs(f["environments"], path+".environments"),
		Matchers: p.matchers(f["matchers"], path+".matchers"),
	}
	if !validName(w.Name) {
		p.add(path+".name", "is required: %s", nameRule)
	}
	if len(w.Environments) == 0 {
		p.add(path+".environments", "is required: the environments the window mutes")
	}
	for i, e := range w.Environments {
		if strings.TrimSpace(e) == "" {
			p.add(index(path+".environments", i), "must not be empty")
		}
	}
	tis := p.seq(f["time_intervals"], path+".time_intervals")
	if len(tis) == 0 {
		p.add(path+".time_intervals", "is required: when the window is in force")
	}
	for i, c := range tis {
		w.TimeIntervals = append(w.TimeIntervals, p.timeInterval(c, index(path+".time_intervals", i)))
	}
	return w
}

func (p *parser) timeInterval(n *yaml.Node, path string) TimeInterval {
	f := p.fields(n, path, tiFields...)
	ti := TimeInterval{Location: time.UTC}
	wholeDay := false
	for i, s := range p.strs(f["weekdays"], path+".weekdays") {
		wr, err := parseWeekdayRange(s)
		if err != nil {
			p.add(index(path+".weekdays", i), "%v", err)
			continue
		}
		ti.Weekdays = append(ti.Weekdays, wr)
	}
	for i, c := range p.seq(f["times"], path+".times") {
		rp := index(path+".times", i)
		rf := p.fields(c, rp, rangeFields...)
		var tr TimeRange
		var err error
		okStart, okEnd := false, false
		if tr.StartMinute, err = parseClock(p.str(rf["start_time"], rp+".start_time")); err != nil {
			p.add(rp+".start_time", "%v", err)
		} else {
			okStart = true
		}
		if tr.EndMinute, err = parseClock(p.str(rf["end_time"], rp+".end_time")); err != nil {
			p.add(rp+".end_time", "%v", err)
		} else {
			okEnd = true
		}
		if okStart && okEnd && (tr.StartMinute == tr.EndMinute || tr.StartMinute == 24*60) {
			p.add(rp, "is empty: start_time and end_time must differ (an end before the start crosses midnight)")
			continue
		}
		if okStart && okEnd {
			if tr.EndMinute == 24*60 && tr.StartMinute == 0 {
				wholeDay = true // the same as no times
				continue
			}
			ti.Times = append(ti.Times, tr)
		}
	}
	if wholeDay {
		ti.Times = nil
	}
	if ln := p.str(f["location"], path+".location"); ln != "" {
		loc, err := loadLocation(ln)
		if err != nil {
			p.add(path+".location", "%v", err)
		} else {
			ti.Location = loc
		}
	}
	return ti
}
