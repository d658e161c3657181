package routing

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/penguinmails/floe/libs/errs"
)

// Reason says why a notification is sent.
type Reason string

// The reasons of a notification.
const (
	// ReasonFiring is a group's first notification telling of a firing
	// episode, or the first after everything it told as firing had
	// resolved or ended (final).
	ReasonFiring Reason = "firing"
	// ReasonUpdate tells of new or changed episodes (a final event among
	// them), of some resolved while others still fire, or of notices while
	// episodes told as firing still fire.
	ReasonUpdate Reason = "update"
	// ReasonRepeat repeats an unchanged, still firing group after repeat_interval.
	ReasonRepeat Reason = "repeat"
	// ReasonResolved tells that every episode told of has resolved.
	ReasonResolved Reason = "resolved"
	// ReasonNotice tells only of notices (Event.Notice), in a group where
	// no episode fires as far as its receivers were told.
	ReasonNotice Reason = "notice"
	// ReasonEscalation tells the escalation receivers of critical episodes
	// nobody acknowledged in time.
	ReasonEscalation Reason = "escalation"
)

// Status of an episode in a notification.
const (
	// StatusFiring is an episode that fires, or that ended with a problem
	// (its Event.Final is set: it is told this once and then dropped).
	StatusFiring = "firing"
	// StatusResolved is an episode's resolution.
	StatusResolved = "resolved"
	// StatusNotice is a one-off event (Event.Notice), told this once.
	StatusNotice = "notice"
)

// Notification is one decided message to one receiver. The caller records it
// in the event log (delivered, or muted), deduplicating on ID.
type Notification struct {
	// ID = hash(route, group key and generation, receiver, sequence
	// number): two replicas deciding the same thing produce the same ID.
	ID       string `json:"id"`
	Route    string `json:"route"`
	GroupKey string `json:"group_key"`
	// Generation is the group's lifetime (see Group).
	Generation string `json:"generation"`
	// GroupLabels are the group_by values shared by the group's events.
	GroupLabels map[string]string `json:"group_labels"`
	Receiver    string            `json:"receiver"`
	// Seq numbers the group's records for the receiver from 1.
	Seq    uint64    `json:"seq"`
	Reason Reason    `json:"reason"`
	At     time.Time `json:"at"`
	// Episodes are what the message is about: for a group notification,
	// every firing episode and the resolutions, final events and notices
	// not yet told, in the order of their keys (a key's notices after its
	// episode, in the order they arrived).
	Episodes []EpisodeStatus `json:"episodes"`
	// Muted notifications are not sent; MutedBy says why (the caller emits
	// an event for them).
	Muted   bool   `json:"muted,omitempty"`
	MutedBy []Mute `json:"muted_by,omitempty"`
}

// EpisodeStatus is an episode as a notification tells of it.
type EpisodeStatus struct {
	Key string `json:"key"`
	// Status is StatusFiring, StatusResolved or StatusNotice.
	Status string `json:"status"`
	// Changed is set for an episode new, changed or resolved since the
	// last notification, and always for a notice.
	Changed bool `json:"changed,omitempty"`
	// Since is when the episode was first seen (a notice: when it arrived).
	Since time.Time `json:"since"`
	// Event is the episode's latest event (a notice: the notice); its
	// Final or Notice says that nothing more will be told of it.
	Event Event `json:"event"`
}

// Mute is why a notification was muted.
type Mute struct {
	// Kind is "silence" or "maintenance_window".
	Kind string `json:"kind"`
	// Name is the silence's ID or the window's name.
	Name      string `json:"name"`
	CreatedBy string `json:"created_by,omitempty"`
	Comment   string `json:"comment,omitempty"`
}

// The kinds of a Mute.
const (
	MuteSilence           = "silence"
	MuteMaintenanceWindow = "maintenance_window"
)

// Group decides the notifications of one group of one route: what to send
// and when, from the events it is given and the times it is asked at. It is
// a pure state machine: no clock, no I/O; given the same calls with the same
// times it makes the same decisions with the same IDs, and its state
// (MarshalJSON, RestoreGroup) can be snapshotted or rebuilt from the log.
// A Group is not safe for concurrent use.
type Group struct {
	cfg   *Config
	route *Route
	s     groupState
}

type groupState struct {
	Route  string            `json:"route"`
	Key    string            `json:"key"`
	Labels map[string]string `json:"labels"`
	// Generation tells the group's lifetimes apart: it is derived from the
	// first event of the lifetime, so replicas (and a replay after the
	// state was dropped) agree on it, and a new lifetime of the same group
	// key gets new notification IDs.
	Generation string `json:"generation"`
	// Created is when the group's first event arrived; its first
	// notification is due GroupWait later.
	Created time.Time `json:"created"`
	// Flushed is set once group_wait is over.
	Flushed bool `json:"flushed,omitempty"`
	// LastSent is when the route's receivers were last told anything.
	LastSent time.Time `json:"last_sent,omitzero"`
	// LastEval is the time of the latest Due.
	LastEval time.Time `json:"last_eval,omitzero"`
	// Dirty is set by input after the latest Due.
	Dirty    bool                `json:"dirty,omitempty"`
	Seq      map[string]uint64   `json:"seq,omitempty"`
	Episodes map[string]*episode `json:"episodes"`
	// Notices are the notices not told yet, in the order they arrived.
	Notices []*notice `json:"notices,omitempty"`
	// Marks are, by episode key, the latest notice or final event of the
	// lifetime. They outlive the notice or episode (dropped once told), so
	// that a redelivery of it, or an older event of the key, is ignored.
	Marks map[string]mark `json:"marks,omitempty"`
}

// notice is a one-off event waiting for the group's next notification.
type notice struct {
	Event Event `json:"event"`
	// Seen is when it arrived.
	Seen time.Time `json:"seen"`
}

// mark is what Observe remembers of a notice or final event.
type mark struct {
	Time time.Time `json:"time"`
	// Content is contentDigest of the event.
	Content string `json:"content"`
}

type episode struct {
	Event     Event     `json:"event"`
	FirstSeen time.Time `json:"first_seen"`
	// Version counts the changes people should hear of.
	Version uint64 `json:"version"`
	// ChangedAt is when the latest version arrived.
	ChangedAt time.Time `json:"changed_at"`
	// SentVersion is the version last told (or dropped).
	SentVersion uint64 `json:"sent_version,omitempty"`
	// Told is set while the receivers were last told the episode fires.
	Told bool `json:"told,omitempty"`
	// MutedVersion is the version last recorded as muted.
	MutedVersion uint64    `json:"muted_version,omitempty"`
	FirstToldAt  time.Time `json:"first_told_at,omitzero"`
	// CooldownUntil holds back a new firing after a resolution was told.
	CooldownUntil time.Time `json:"cooldown_until,omitzero"`
	AckedBy       string    `json:"acked_by,omitempty"`
	AckedAt       time.Time `json:"acked_at,omitzero"`
	Escalated     bool      `json:"escalated,omitempty"`
}

// firing reports whether the episode's latest event fires (a final one included).
func (ep *episode) firing() bool { return !ep.Event.Resolved }

// final reports whether the episode's latest event ends it with a problem.
func (ep *episode) final() bool { return ep.Event.Final }

// pending reports whether the episode has something to tell: a firing
// (or final) version not told yet, or the resolution of an episode told as
// firing.
func (ep *episode) pending() bool {
	if ep.Version == ep.SentVersion {
		return false
	}
	return ep.firing() || ep.Told
}

// over reports whether the episode has nothing left to tell or hold back
// at now: resolved or final, told (or dropped), and out of its cooldown.
func (ep *episode) over(now time.Time) bool {
	return (!ep.firing() || ep.final()) && !ep.Told && !ep.pending() && !now.Before(ep.CooldownUntil)
}

// NewGroup starts the group of route r that event e belongs to (see
// GroupKey); give it e and later events with Observe.
func NewGroup(cfg *Config, r *Route, e Event) *Group {
	return &Group{cfg: cfg, route: r, s: groupState{
		Route: r.ID(), Key: GroupKey(r, e), Labels: GroupLabels(r, e), Episodes: map[string]*episode{},
	}}
}

// RestoreGroup rebuilds a group from its MarshalJSON state, under cfg.
func RestoreGroup(cfg *Config, data []byte) (*Group, error) {
	var s groupState
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("group state: %w", err)
	}
	g := &Group{s: s}
	if g.s.Episodes == nil {
		g.s.Episodes = map[string]*episode{}
	}
	if err := g.useConfig(cfg); err != nil {
		return nil, err
	}
	return g, nil
}

// MarshalJSON is the group's state, deterministic for the same history.
func (g *Group) MarshalJSON() ([]byte, error) { return json.Marshal(g.s) }

// SetConfig switches the group to a new configuration (a reload, new
// silences); its route must still exist, found by ID.
func (g *Group) SetConfig(cfg *Config) error {
	if err := g.useConfig(cfg); err != nil {
		return err
	}
	g.s.Dirty = true
	return nil
}

func (g *Group) useConfig(cfg *Config) error {
	if cfg == nil {
		return &errs.NotFoundError{Kind: "route", ID: g.s.Route}
	}
	r, ok := cfg.RouteByID(g.s.Route)
	if !ok {
		return &errs.NotFoundError{Kind: "route", ID: g.s.Route}
	}
	g.cfg, g.route = cfg, r
	return nil
}

// Key is the group key.
func (g *Group) Key() string { return g.s.Key }

// Route is the group's route.
func (g *Group) Route() *Route { return g.route }

// Observe adds an event of the group at now. A redelivered event (nothing
// people should hear of changed) and an event older than the episode's
// latest are ignored; so are, for the rest of the group's lifetime, a
// redelivered notice or final event and events of its key older than it,
// even after it was told and dropped.
func (g *Group) Observe(now time.Time, e Event) error {
	if err := e.Validate(); err != nil {
		return err
	}
	if k := GroupKey(g.route, e); k != g.s.Key {
		return errs.Invalid("episode", "the event belongs to group %s, not %s", k, g.s.Key)
	}
	now = now.UTC()
	e.Time = e.Time.UTC()
	if len(e.Labels) == 0 {
		e.Labels = nil
	}
	if len(e.Annotations) == 0 {
		e.Annotations = nil
	}
	if g.empty() { // a new lifetime
		g.s.Generation = digest("generation", e.Type, e.EpisodeKey, e.Time.Format(time.RFC3339Nano))
		g.s.Created, g.s.Flushed, g.s.LastSent, g.s.Seq, g.s.Marks = now, false, time.Time{}, nil, nil
	}
	if m, ok := g.s.Marks[e.EpisodeKey]; ok &&
		(e.Time.Before(m.Time) || e.Time.Equal(m.Time) && m.Content == contentDigest(e)) {
		return nil
	}
	if e.Notice {
		g.s.Notices = append(g.s.Notices, &notice{Event: e, Seen: now})
		g.mark(e)
		g.s.Dirty = true
		return nil
	}
	ep := g.s.Episodes[e.EpisodeKey]
	switch {
	case ep == nil:
		ep = &episode{Event: e, FirstSeen: now, Version: 1, ChangedAt: now}
		g.s.Episodes[e.EpisodeKey] = ep
	case e.Time.Before(ep.Event.Time) || sameContent(ep.Event, e):
		return nil
	default:
		refire := !ep.firing() && !e.Resolved
		ep.Event = e
		ep.Version++
		ep.ChangedAt = now
		if refire {
			ep.AckedBy, ep.AckedAt, ep.Escalated = "", time.Time{}, false
		}
	}
	if e.Final {
		g.mark(e)
	}
	g.s.Dirty = true
	return nil
}

// mark remembers a notice or final event for the rest of the lifetime.
func (g *Group) mark(e Event) {
	if g.s.Marks == nil {
		g.s.Marks = map[string]mark{}
	}
	g.s.Marks[e.EpisodeKey] = mark{Time: e.Time, Content: contentDigest(e)}
}

// sameContent reports whether b tells people nothing a did not (its time aside).
func sameContent(a, b Event) bool {
	return a.Type == b.Type && a.Environment == b.Environment && a.Product == b.Product &&
		a.severity() == b.severity() && a.Resolved == b.Resolved && a.Notice == b.Notice && a.Final == b.Final &&
		maps.Equal(a.Labels, b.Labels) && maps.Equal(a.Annotations, b.Annotations)
}

// contentDigest hashes what sameContent compares: equal digests, same content.
func contentDigest(e Event) string {
	flag := func(b bool) string { return strconv.FormatBool(b) }
	parts := []string{
		"content", e.Type, e.Environment, e.Product, e.severity(), flag(e.Resolved), flag(e.Notice), flag(e.Final),
		strconv.Itoa(len(e.Labels)),
	}
	for _, k := range slices.Sorted(maps.Keys(e.Labels)) {
		parts = append(parts, k, e.Labels[k])
	}
	parts = append(parts, strconv.Itoa(len(e.Annotations)))
	for _, k := range slices.Sorted(maps.Keys(e.Annotations)) {
		parts = append(parts, k, e.Annotations[k])
	}
	return digest(parts...)
}

// empty reports whether the group holds neither an episode nor a notice:
// its lifetime is over, the next event starts a new one.
func (g *Group) empty() bool { return len(g.s.Episodes) == 0 && len(g.s.Notices) == 0 }

// Acknowledge records that someone took on an episode, which stops its escalation.
func (g *Group) Acknowledge(now time.Time, episodeKey, by string) error {
	ep := g.s.Episodes[episodeKey]
	if ep == nil {
		return &errs.NotFoundError{Kind: "episode", ID: episodeKey}
	}
	if by == "" {
		return errs.Invalid("by", "is required: who acknowledged")
	}
	if ep.AckedBy == "" {
		ep.AckedBy, ep.AckedAt = by, now.UTC()
		g.s.Dirty = true
	}
	return nil
}

// mutes says what mutes an episode at t.
func (g *Group) mutes(ep *episode, t time.Time) []Mute { return g.mutesOf(ep.Event, t) }

// mutesOf says what mutes an event at t.
func (g *Group) mutesOf(e Event, t time.Time) []Mute {
	ls := e.LabelSet()
	var out []Mute
	for _, s := range g.cfg.Silences {
		if s.Active(t) && s.Matchers.Matches(ls) {
			out = append(out, Mute{Kind: MuteSilence, Name: s.ID, CreatedBy: s.CreatedBy, Comment: s.Comment})
		}
	}
	for _, w := range g.cfg.MaintenanceWindows {
		if w.Applies(ls) && w.Active(t) {
			out = append(out, Mute{Kind: MuteMaintenanceWindow, Name: w.Name})
		}
	}
	return out
}

// muteChange is the next time after t at which the mutes of ep may change.
func (g *Group) muteChange(ep *episode, t time.Time) time.Time {
	ls := ep.Event.LabelSet()
	var best time.Time
	consider := func(c time.Time) {
		if c.After(t) && (best.IsZero() || c.Before(best)) {
			best = c
		}
	}
	for _, s := range g.cfg.Silences {
		if s.Matchers.Matches(ls) {
			consider(s.StartsAt)
			consider(s.EndsAt)
		}
	}
	for _, w := range g.cfg.MaintenanceWindows {
		if w.Applies(ls) {
			consider(w.nextBoundary(t))
		}
	}
	return best
}

func (g *Group) keys() []string { return slices.Sorted(maps.Keys(g.s.Episodes)) }

// Due returns what is due at now: at most one group notification per route
// receiver (first firing after group_wait, an update after group_interval,
// a repeat after repeat_interval, the resolution, notices and final
// events), the muted records of changes that a silence or maintenance
// window held back, and escalations.
// Call it at Next (or later: what fell due meanwhile is decided at now).
func (g *Group) Due(now time.Time) []Notification {
	now = now.UTC()
	if now.Before(g.s.LastEval) {
		now = g.s.LastEval
	}
	g.s.LastEval, g.s.Dirty = now, false
	if g.empty() || !g.s.Flushed && now.Before(g.s.Created.Add(g.route.GroupWait)) {
		return nil
	}
	g.s.Flushed = true
	var out []Notification

	var send, muted []*episode
	var sendNotices, mutedNotices []*notice
	var mutedBy []Mute
	anyTold := false
	for _, k := range g.keys() {
		ep := g.s.Episodes[k]
		anyTold = anyTold || ep.Told
		if !ep.pending() || now.Before(g.readyAt(ep)) {
			continue
		}
		if m := g.mutes(ep, now); len(m) > 0 {
			if ep.MutedVersion != ep.Version {
				ep.MutedVersion = ep.Version
				muted = append(muted, ep)
				mutedBy = appendMutes(mutedBy, m)
			}
			continue
		}
		send = append(send, ep)
	}
	// A notice is told (or recorded as muted) at its first tick, and dropped.
	var waiting []*notice
	for _, n := range g.s.Notices {
		if now.Before(g.noticeReadyAt(n)) {
			waiting = append(waiting, n)
			continue
		}
		if m := g.mutesOf(n.Event, now); len(m) > 0 {
			mutedNotices = append(mutedNotices, n)
			mutedBy = appendMutes(mutedBy, m)
			continue
		}
		sendNotices = append(sendNotices, n)
	}
	g.s.Notices = waiting
	switch {
	case len(send) > 0 || len(sendNotices) > 0:
		content := g.content(now, send, sendNotices)
		out = append(out, g.notify(now, g.route.Receivers, g.reason(send, anyTold), content)...)
		g.markSent(now, send)
	case anyTold && !now.Before(g.align(g.s.LastSent.Add(g.route.RepeatInterval))):
		if content := g.content(now, nil, nil); len(content) > 0 {
			out = append(out, g.notify(now, g.route.Receivers, ReasonRepeat, content)...)
			g.s.LastSent = now
		}
	}
	if len(muted) > 0 || len(mutedNotices) > 0 {
		var content []EpisodeStatus
		for _, ep := range muted {
			content = append(content, status(ep, true))
		}
		content = appendNotices(content, mutedNotices)
		reason := g.reason(muted, anyTold)
		for _, ep := range muted {
			if !ep.firing() || ep.final() { // a muted resolution or final event is never told
				ep.Told, ep.SentVersion, ep.FirstToldAt = false, ep.Version, time.Time{}
			}
		}
		for _, n := range g.notify(now, g.route.Receivers, reason, content) {
			n.Muted, n.MutedBy = true, mutedBy
			out = append(out, n)
		}
	}
	out = append(out, g.escalate(now)...)
	for _, k := range g.keys() {
		if g.s.Episodes[k].over(now) {
			delete(g.s.Episodes, k)
		}
	}
	return out
}

// align is the first flush tick at or after t: the group is flushed
// group_wait after its first event and then every group_interval, as in
// Alertmanager, so that changes arriving close together are told together.
func (g *Group) align(t time.Time) time.Time {
	first := g.s.Created.Add(g.route.GroupWait)
	if !t.After(first) {
		return first
	}
	gi := g.route.GroupInterval
	if gi <= 0 {
		return t
	}
	n := (t.Sub(first) + gi - 1) / gi
	return first.Add(n * gi)
}

// readyAt is the flush tick at which a pending episode may be told: after
// it changed, group_interval after the previous notification, and (firing)
// after its cooldown.
func (g *Group) readyAt(ep *episode) time.Time {
	t := ep.ChangedAt
	if !g.s.LastSent.IsZero() {
		t = later(t, g.s.LastSent.Add(g.route.GroupInterval))
	}
	if ep.firing() {
		t = later(t, ep.CooldownUntil)
	}
	return g.align(t)
}

// noticeReadyAt is the flush tick at which a notice may be told: after it
// arrived and group_interval after the previous notification.
func (g *Group) noticeReadyAt(n *notice) time.Time {
	t := n.Seen
	if !g.s.LastSent.IsZero() {
		t = later(t, g.s.LastSent.Add(g.route.GroupInterval))
	}
	return g.align(t)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func appendMutes(list, add []Mute) []Mute {
	for _, m := range add {
		if !slices.Contains(list, m) {
			list = append(list, m)
		}
	}
	return list
}

// reason names a group notification telling of the episodes changed and
// perhaps of notices; anyTold says whether some episode was told as firing
// before. Firing: an episode is now told as firing (a final one included)
// and none was before. Update: one is, or stays, told as firing. Resolved:
// the changes are resolutions and nothing fires. Notice: only notices, and
// nothing fires.
func (g *Group) reason(changed []*episode, anyTold bool) Reason {
	firing := false
	for _, ep := range g.s.Episodes {
		if ep.firing() && (ep.Told || slices.Contains(changed, ep)) {
			firing = true
			break
		}
	}
	switch {
	case firing && !anyTold:
		return ReasonFiring
	case firing:
		return ReasonUpdate
	case len(changed) > 0:
		return ReasonResolved
	default:
		return ReasonNotice
	}
}

// content is what a group notification tells: every firing episode already
// told or now told that is not muted, the resolutions and final events in
// changed, and the notices.
func (g *Group) content(now time.Time, changed []*episode, notices []*notice) []EpisodeStatus {
	var out []EpisodeStatus
	for _, k := range g.keys() {
		ep := g.s.Episodes[k]
		isChanged := slices.Contains(changed, ep)
		switch {
		case isChanged:
		case ep.firing() && ep.Told && len(g.mutes(ep, now)) == 0:
		default:
			continue
		}
		out = append(out, status(ep, isChanged))
	}
	return appendNotices(out, notices)
}

// appendNotices adds the notices to episode statuses in key order, keeping
// the statuses' order and putting a key's notices after its episode, in
// the order they arrived.
func appendNotices(list []EpisodeStatus, notices []*notice) []EpisodeStatus {
	if len(notices) == 0 {
		return list
	}
	for _, n := range notices {
		list = append(list, EpisodeStatus{
			Key: n.Event.EpisodeKey, Status: StatusNotice, Changed: true, Since: n.Seen, Event: n.Event,
		})
	}
	slices.SortStableFunc(list, func(a, b EpisodeStatus) int { return strings.Compare(a.Key, b.Key) })
	return list
}

func status(ep *episode, changed bool) EpisodeStatus {
	st := StatusFiring
	if !ep.firing() {
		st = StatusResolved
	}
	return EpisodeStatus{Key: ep.Event.EpisodeKey, Status: st, Changed: changed, Since: ep.FirstSeen, Event: ep.Event}
}

// markSent records that sent were told: a firing episode is told as firing
// (and repeated), a resolution starts the cooldown, and a final event ends
// the episode, dropped by Due.
func (g *Group) markSent(now time.Time, sent []*episode) {
	for _, ep := range sent {
		ep.SentVersion = ep.Version
		switch {
		case ep.final():
			ep.Told, ep.FirstToldAt = false, time.Time{}
		case ep.firing():
			ep.Told = true
			if ep.FirstToldAt.IsZero() {
				ep.FirstToldAt = now
			}
		default:
			ep.Told, ep.FirstToldAt = false, time.Time{}
			ep.CooldownUntil = now.Add(g.route.Cooldown)
		}
	}
	g.s.LastSent = now
}

// notify builds one notification per receiver, numbering each receiver's records.
func (g *Group) notify(now time.Time, receivers []string, reason Reason, content []EpisodeStatus) []Notification {
	out := make([]Notification, 0, len(receivers))
	for _, r := range receivers {
		if g.s.Seq == nil {
			g.s.Seq = map[string]uint64{}
		}
		g.s.Seq[r]++
		seq := g.s.Seq[r]
		out = append(out, Notification{
			ID: NotificationID(g.s.Route, g.s.Key, g.s.Generation, r, seq), Route: g.s.Route, GroupKey: g.s.Key,
			Generation:  g.s.Generation,
			GroupLabels: maps.Clone(g.s.Labels), Receiver: r, Seq: seq, Reason: reason, At: now,
			Episodes: slices.Clone(content),
		})
	}
	return out
}

// escalatable reports whether ep waits for an acknowledgement that would
// stop its escalation: a critical episode told as firing and not
// acknowledged; a final event not told yet does not stop it (it is not
// escalated once told: markSent clears FirstToldAt).
func (g *Group) escalatable(ep *episode) bool {
	return g.route.Escalation != nil && ep.firing() && ep.Event.severity() == SeverityCritical &&
		!ep.FirstToldAt.IsZero() && ep.AckedBy == "" && !ep.Escalated
}

func (g *Group) escalate(now time.Time) []Notification {
	var due, muted []EpisodeStatus
	var mutedBy []Mute
	for _, k := range g.keys() {
		ep := g.s.Episodes[k]
		if !g.escalatable(ep) || now.Before(ep.FirstToldAt.Add(g.route.Escalation.After)) {
			continue
		}
		ep.Escalated = true
		if m := g.mutes(ep, now); len(m) > 0 {
			muted = append(muted, status(ep, false))
			mutedBy = appendMutes(mutedBy, m)
			continue
		}
		due = append(due, status(ep, false))
	}
	var out []Notification
	if len(due) > 0 {
		out = append(out, g.notify(now, g.route.Escalation.Receivers, ReasonEscalation, due)...)
	}
	if len(muted) > 0 {
		for _, n := range g.notify(now, g.route.Escalation.Receivers, ReasonEscalation, muted) {
			n.Muted, n.MutedBy = true, mutedBy
			out = append(out, n)
		}
	}
	return out
}

// Next is the earliest time at which Due may decide something; zero when
// nothing is scheduled. It is not after the latest Due's time only when
// input arrived since (then call Due now).
func (g *Group) Next() time.Time {
	if g.empty() {
		return time.Time{}
	}
	if !g.s.Flushed {
		return g.s.Created.Add(g.route.GroupWait)
	}
	last := g.s.LastEval
	var best time.Time
	consider := func(c time.Time) {
		if c.IsZero() || !g.s.Dirty && !c.After(last) {
			return
		}
		if best.IsZero() || c.Before(best) {
			best = c
		}
	}
	anyTold := false
	for _, ep := range g.s.Episodes {
		toldFiring := ep.Told && ep.firing()
		anyTold = anyTold || toldFiring
		muted := len(g.mutes(ep, last)) > 0
		switch {
		case ep.pending() && muted && ep.MutedVersion == ep.Version:
			// recorded as muted: told at the first tick after the mute ends
			consider(g.align(later(g.readyAt(ep), g.muteChange(ep, last))))
		case ep.pending():
			consider(g.readyAt(ep))
		}
		if toldFiring && muted {
			consider(g.align(later(g.s.LastSent.Add(g.route.RepeatInterval), g.muteChange(ep, last))))
		}
		if g.escalatable(ep) {
			consider(ep.FirstToldAt.Add(g.route.Escalation.After))
		}
		if !ep.firing() && !ep.Told {
			consider(ep.CooldownUntil)
		}
	}
	for _, n := range g.s.Notices {
		consider(g.noticeReadyAt(n)) // told, or recorded as muted, then
	}
	if anyTold {
		consider(g.align(g.s.LastSent.Add(g.route.RepeatInterval)))
	}
	return best
}

// Done reports whether the group has nothing left to tell or hold back at
// now, so the caller may drop it.
func (g *Group) Done(now time.Time) bool {
	for _, ep := range g.s.Episodes {
		if !ep.over(now) {
			return false
		}
	}
	return len(g.s.Notices) == 0
}
