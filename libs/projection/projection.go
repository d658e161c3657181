// Package projection keeps read models (views) current from the event log.
//
// A Projection folds the events matching its filters, in log order, into
// keyed rows held in memory, where queries read them. Each row remembers the
// position of the last event folded into it, so an event delivered twice (a
// restart from an older checkpoint, several instances) changes nothing. The
// rows and the position the projection has applied are checkpointed to a
// NATS KV bucket ("view_<name>"): a restart restores them and resumes after
// the checkpoint instead of replaying the log, and Rebuild replays from zero.
//
// Every instance of a service runs its own projections (an ordered consumer
// each, no server-side state), so reads never leave the process. Instances
// share the checkpoint bucket; writes to it are compare-and-swap and never
// move a row or the position backwards.
//
// An event a view cannot fold (a poison event) is reported — Status, the
// OnPoison hook and the checkpoint bucket — and skipped; it never stalls the
// view, and views are independent of each other.
//
// Wait makes reads consistent with a client's own writes: it returns once
// the view has applied every matching event at or below a log position.
package projection

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
)

// Spec defines a view whose rows are R.
type Spec[R any] struct {
	// Name identifies the view: lower_snake_case, unique per deployment (the
	// checkpoint bucket is view_<name>).
	Name string
	// Filters are the subjects of the events the view reads.
	Filters []string
	// Keys names the rows an event changes (none: the view ignores it).
	// Keys must be valid NATS KV keys (aggregate ids are).
	Keys func(e *eventstore.RecordedEvent) []string
	// Fold folds e into a row (the zero R and exists=false for a new one).
	// keep=false deletes the row. An error makes e a poison event for this view.
	Fold func(row R, exists bool, e *eventstore.RecordedEvent) (out R, keep bool, err error)
	// Marshal and Unmarshal encode rows for the checkpoint.
	Marshal   func(R) ([]byte, error)
	Unmarshal func([]byte) (R, error)
	// OnChange (optional) is told of every row change — folds, restores
	// from the checkpoint, deletes (deleted=true) — under the projection's
	// write lock: derived indexes kept here are consistent with the rows.
	OnChange func(key string, row R, deleted bool)
	// OnReset (optional) is told that every row was dropped (Rebuild).
	OnReset func()
}

// Options configure a Projection.
type Options struct {
	// Stream is the event log stream (eventstore.DefaultStream when empty).
	Stream string
	// Replicas of the checkpoint bucket (1 embedded; 3 in production).
	Replicas int
	// FlushEvery and FlushInterval bound how much is applied before a
	// checkpoint: after this many changed rows, or this long after the first
	// unflushed change. Defaults 1,000 rows and 1 s.
	FlushEvery    int
	FlushInterval time.Duration
	// OnPoison is told of each poison event (logs, alerts).
	OnPoison func(Poison)
	// OnError is told of failures the projection retries (an unavailable
	// server, a failed checkpoint).
	OnError func(error)
	// Verifier checks every event before it is folded (content, link to its
	// aggregate's previous event, writer signature). A bad event is not
	// folded: the rows it names are marked tampered (Tampered) until an
	// administrator acknowledges it, and it is reported as poison. Without
	// one, events are folded as read (tests).
	Verifier *eventstore.Verifier
	// Signer authenticates the checkpoint: values without its MAC are
	// ignored and the log replayed instead (OnForgedCheckpoint is told).
	Signer             *eventstore.Signer
	OnForgedCheckpoint func(*ForgedCheckpointError)
	// ReplayFrom, when set, resumes after position ReplayFrom-1 instead of
	// the checkpoint's position (rows keep their own positions, so nothing
	// is folded twice). For recovery drills and the conformance suite.
	ReplayFrom uint64
}

// Poison is an event a view could not fold, or (Tampered) one that fails
// verification and was not folded.
type Poison struct {
	View    string    `json:"view"`
	Seq     uint64    `json:"seq"`
	Subject string    `json:"subject"`
	Type    string    `json:"type"`
	Error   string    `json:"error"`
	At      time.Time `json:"at"`
	// Tampered marks a bad event; Keys are the rows it would have changed.
	Tampered bool     `json:"tampered,omitempty"`
	Keys     []string `json:"keys,omitempty"`
}

// Status is where a projection stands.
type Status struct {
	Name string
	// Position is the log position the view has applied (every matching
	// event at or below it is folded in).
	Position uint64
	// Checkpointed is the position of the last checkpoint written or restored.
	Checkpointed uint64
	// Rows is the number of rows.
	Rows int
	// CaughtUp is true once the view has applied everything that existed when it started (or was rebuilt).
	CaughtUp bool
	// Rebuilding is true while a rebuild replays the log; Target is the
	// log's end when it began (progress: Position/Target).
	Rebuilding bool
	Target     uint64
	// Applied counts events folded since the process started.
	Applied uint64
	// Poison lists the events skipped (the latest 100).
	Poison []Poison
}

type row[R any] struct {
	val R
	seq uint64 // position of the last event folded in
	rev uint64 // KV revision of its checkpoint (0: none known)
	// gone marks a deleted row (a tombstone): it keeps its position, so an
	// event delivered again cannot bring the row back.
	gone bool
}

// Projection runs one view.
type Projection[R any] struct {
	spec Spec[R]
	opts Options
	js   jetstream.JetStream
	ckpt *checkpoint

	mu       sync.RWMutex
	rows     map[string]*row[R]
	live     int // rows that are not tombstones
	dirty    map[string]bool
	pos      uint64
	applied  uint64
	caught   bool
	target   uint64
	rebuild  bool
	poison   []Poison
	tampered map[string]*eventstore.TamperError // rows a bad event would have changed
	chains   *eventstore.Chains
	progress chan struct{} // closed and replaced whenever pos moves

	streamMu sync.Mutex
	stream   jetstream.Stream

	restart chan struct{} // Rebuild asks Run to start over
	ready   chan struct{} // closed once caught up the first time
	once    sync.Once
}

// New returns a projection of spec; Run starts it.
func New[R any](ctx context.Context, js jetstream.JetStream, spec Spec[R], opts Options) (*Projection[R], error) {
	if spec.Name == "" || spec.Keys == nil || spec.Fold == nil || spec.Marshal == nil || spec.Unmarshal == nil || len(spec.Filters) == 0 {
		return nil, errors.New("projection: Name, Filters, Keys, Fold, Marshal and Unmarshal are required")
	}
	if !eventstore.ValidAggregateName(spec.Name) {
		return nil, fmt.Errorf("projection: name %q is not lower_snake_case of at most 32 characters", spec.Name)
	}
	if opts.Stream == "" {
		opts.Stream = eventstore.DefaultStream
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = 1000
	}
	if opts.FlushInterval <= 0 {
		opts.FlushInterval = time.Second
	}
	ck, err := openCheckpoint(ctx, js, spec.Name, opts.Replicas, opts.Signer)
	if err != nil {
		return nil, err
	}
	var chains *eventstore.Chains
	if opts.Verifier != nil {
		chains = opts.Verifier.Chains(0)
	}
	return &Projection[R]{
		spec: spec, opts: opts, js: js, ckpt: ck, chains: chains, tampered: map[string]*eventstore.TamperError{},
		rows: map[string]*row[R]{}, dirty: map[string]bool{},
		progress: make(chan struct{}), restart: make(chan struct{}, 1), ready: make(chan struct{}),
	}, nil
}

// Name is the view's name.
func (p *Projection[R]) Name() string { return p.spec.Name }

// Ready is closed once the view has caught up with the log the first time.
func (p *Projection[R]) Ready() <-chan struct{} { return p.ready }

// Read runs fn under the projection's read lock: rows (Get) and indexes kept
// by OnChange do not change meanwhile. fn must not keep references to rows.
func (p *Projection[R]) Read(fn func()) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	fn()
}

// Get returns a row; call it inside Read, or accept that the row may be
// replaced right after (rows are replaced, not changed in place, only if
// Fold returns a new value).
func (p *Projection[R]) Get(key string) (R, bool) {
	r, ok := p.rows[key]
	if !ok || r.gone {
		var zero R
		return zero, false
	}
	return r.val, true
}

// RowPosition is the position of the last event folded into row key (0: none).
func (p *Projection[R]) RowPosition(key string) uint64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if r, ok := p.rows[key]; ok && !r.gone {
		return r.seq
	}
	return 0
}

// Tampered returns the verification failure that keeps row key from being
// trusted — an event that would have changed it fails verification and was
// not folded — or nil. A failure an administrator has since acknowledged
// is cleared.
func (p *Projection[R]) Tampered(ctx context.Context, key string) error {
	p.mu.RLock()
	te := p.tampered[key]
	p.mu.RUnlock()
	if te == nil || p.opts.Verifier == nil {
		return nil
	}
	acked, err := p.opts.Verifier.Acknowledged(ctx, te.Seq)
	if err != nil {
		return err
	}
	if !acked {
		return te
	}
	p.mu.Lock()
	if p.tampered[key] == te {
		delete(p.tampered, key)
	}
	p.mu.Unlock()
	return nil
}

// Status reports where the view stands.
func (p *Projection[R]) Status() Status {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return Status{
		Name: p.spec.Name, Position: p.pos, Checkpointed: p.ckpt.position(), Rows: p.live, CaughtUp: p.caught,
		Rebuilding: p.rebuild, Target: p.target, Applied: p.applied, Poison: append([]Poison(nil), p.poison...),
	}
}

// Rebuild drops every row and the checkpoint and replays the log from the
// start; it returns once the replay began (Status shows the progress).
func (p *Projection[R]) Rebuild(ctx context.Context) error {
	select {
	case p.restart <- struct{}{}:
	default: // a rebuild is already asked for
	}
	return nil
}

// Run keeps the view current until ctx ends. It restores the checkpoint,
// then follows the log from the position after it.
func (p *Projection[R]) Run(ctx context.Context) error {
	if err := p.restore(ctx); err != nil {
		return err
	}
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := p.follow(ctx)
		if errors.Is(err, errRestart) {
			if err := p.reset(ctx); err != nil {
				p.report(fmt.Errorf("view %s: rebuild: %w", p.spec.Name, err))
			}
			continue
		}
		if ctx.Err() != nil {
			break
		}
		p.report(fmt.Errorf("view %s: %w (resuming)", p.spec.Name, err))
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	// A last checkpoint on the way out, so a restart resumes where this stopped.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := p.flush(fctx); err != nil {
		p.report(fmt.Errorf("view %s: final checkpoint: %w", p.spec.Name, err))
	}
	return nil
}

var errRestart = errors.New("restart")

func (p *Projection[R]) report(err error) {
	if p.opts.OnError != nil {
		p.opts.OnError(err)
	}
}

// restore loads the checkpoint's rows and position.
func (p *Projection[R]) restore(ctx context.Context) error {
	rows, pos, poison, err := p.ckpt.load(ctx)
	var forged *ForgedCheckpointError
	if errors.As(err, &forged) {
		p.report(fmt.Errorf("view %s: %w", p.spec.Name, err))
		if p.opts.OnForgedCheckpoint != nil {
			p.opts.OnForgedCheckpoint(forged)
		}
		err = nil
	}
	if err != nil {
		return fmt.Errorf("view %s: restore: %w", p.spec.Name, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for key, r := range rows {
		if r.gone {
			p.rows[key] = &row[R]{seq: r.seq, rev: r.rev, gone: true}
			continue
		}
		val, err := p.spec.Unmarshal(r.data)
		if err != nil {
			// An unreadable row: rebuild it by replaying from before its events.
			pos = 0
			p.report(fmt.Errorf("view %s: row %s in the checkpoint is unreadable (%v): replaying the log", p.spec.Name, key, err))
			continue
		}
		p.rows[key] = &row[R]{val: val, seq: r.seq, rev: r.rev}
		p.live++
		if p.spec.OnChange != nil {
			p.spec.OnChange(key, val, false)
		}
	}
	if p.opts.ReplayFrom > 0 && p.opts.ReplayFrom-1 < pos {
		pos = p.opts.ReplayFrom - 1
	}
	p.pos = pos
	p.poison = poison
	for _, x := range poison {
		p.markLocked(x)
	}
	return nil
}

// markLocked marks the rows of a tampered poison entry.
func (p *Projection[R]) markLocked(x Poison) {
	if !x.Tampered {
		return
	}
	agg, id, _, _ := eventstore.ParseSubject(x.Subject)
	te := &eventstore.TamperError{Seq: x.Seq, Subject: x.Subject, Aggregate: agg, ID: id, Reason: x.Error}
	for _, k := range x.Keys {
		p.tampered[k] = te
	}
}

// reset drops everything (memory and checkpoint) for a rebuild.
func (p *Projection[R]) reset(ctx context.Context) error {
	p.mu.Lock()
	p.rows, p.dirty, p.live = map[string]*row[R]{}, map[string]bool{}, 0
	p.pos, p.caught, p.rebuild, p.poison = 0, false, true, nil
	clear(p.tampered)
	if p.chains != nil {
		p.chains.Forget()
	}
	if p.spec.OnReset != nil {
		p.spec.OnReset()
	}
	p.mu.Unlock()
	return p.ckpt.purge(ctx)
}

// follow consumes the log from p.pos+1 until ctx ends, an error, or a rebuild.
func (p *Projection[R]) follow(ctx context.Context) error {
	p.mu.RLock()
	start := p.pos + 1
	p.mu.RUnlock()
	st, err := p.js.Stream(ctx, p.opts.Stream)
	if err != nil {
		return err
	}
	target := st.CachedInfo().State.LastSeq
	p.mu.Lock()
	p.target = target
	if p.pos >= target {
		p.caughtUpLocked()
	}
	p.mu.Unlock()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cons, err := p.js.OrderedConsumer(cctx, p.opts.Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: p.spec.Filters, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: start,
		// Bounded (nats.go retries for ever by default): the error ends this read, and the view reads again.
		MaxResetAttempts: 5,
	})
	if err != nil {
		return err
	}
	if info, err := cons.Info(cctx); err == nil && info.NumPending == 0 {
		p.mu.Lock()
		p.caughtUpLocked() // nothing to read: as current as the log
		p.mu.Unlock()
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(512))
	if err != nil {
		return err
	}
	defer it.Stop()
	stop := context.AfterFunc(cctx, it.Stop)
	defer stop()

	// The reader decodes each message and starts checking its content (the
	// hash and the signature, the costly part of verification) on a worker,
	// GOMAXPROCS at a time; the loop below takes them in log order.
	msgs := make(chan *delivery, 256)
	errc := make(chan error, 1)
	go func() {
		sem := make(chan struct{}, goruntime.GOMAXPROCS(0))
		for {
			m, err := it.Next()
			if err != nil {
				errc <- err
				return
			}
			d, err := p.deliver(m, sem)
			if err != nil {
				errc <- err
				return
			}
			select {
			case msgs <- d:
			case <-cctx.Done():
				errc <- cctx.Err()
				return
			}
		}
	}()
	tick := time.NewTicker(p.opts.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.restart:
			return errRestart
		case err := <-errc:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		case <-tick.C:
			if err := p.flushIfDue(ctx, true); err != nil {
				p.report(fmt.Errorf("view %s: checkpoint: %w", p.spec.Name, err))
			}
		case d := <-msgs:
			if d.checked != nil {
				<-d.checked
			}
			v := verdict{use: true}
			if p.chains != nil && d.err == nil && d.seq > p.position() {
				use, err := p.chains.Check(ctx, d.e)
				if err != nil && !errors.As(err, &v.tampered) {
					return err // the log could not be read: resume from here
				}
				v.use = use
			}
			p.apply(d.seq, d.subject, d.e, d.err, v)
			if d.pending == 0 {
				p.mu.Lock()
				p.caughtUpLocked()
				p.mu.Unlock()
			}
			if err := p.flushIfDue(ctx, false); err != nil {
				p.report(fmt.Errorf("view %s: checkpoint: %w", p.spec.Name, err))
			}
		}
	}
}

// delivery is one message as the follow loop receives it.
type delivery struct {
	seq     uint64
	subject string
	pending uint64
	e       *eventstore.RecordedEvent
	err     error         // the message is not an event
	checked chan struct{} // closed once its content was checked (nil: not checked)
}

func (p *Projection[R]) deliver(m jetstream.Msg, sem chan struct{}) (*delivery, error) {
	md, err := m.Metadata()
	if err != nil {
		return nil, err
	}
	d := &delivery{seq: md.Sequence.Stream, subject: m.Subject(), pending: md.NumPending}
	d.e, d.err = eventstore.Decode(d.seq, d.subject, m.Headers(), m.Data())
	if p.opts.Verifier != nil && d.err == nil {
		d.checked = make(chan struct{})
		sem <- struct{}{}
		go func() {
			p.opts.Verifier.Content(d.e) // remembered; Chains.Check reads the outcome
			<-sem
			close(d.checked)
		}()
	}
	return d, nil
}

// verdict is what verification decided for an event.
type verdict struct {
	use      bool
	tampered *eventstore.TamperError
}

func (p *Projection[R]) position() uint64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.pos
}

func (p *Projection[R]) caughtUpLocked() {
	if !p.caught {
		p.caught, p.rebuild = true, false
		p.once.Do(func() { close(p.ready) })
	}
}

// apply folds one delivered message (e is nil when it did not decode), as
// verification decided.
func (p *Projection[R]) apply(seq uint64, subject string, e *eventstore.RecordedEvent, decodeErr error, v verdict) {
	p.mu.Lock()
	defer func() {
		if seq > p.pos {
			p.pos = seq
		}
		close(p.progress)
		p.progress = make(chan struct{})
		p.mu.Unlock()
	}()
	if decodeErr != nil {
		p.poisonLocked(Poison{Seq: seq, Subject: subject, Error: decodeErr.Error()})
		return
	}
	if seq <= p.pos {
		return // before the position: already applied everywhere
	}
	if v.tampered != nil {
		x := Poison{Seq: seq, Subject: subject, Type: e.Type, Error: v.tampered.Reason, Tampered: true, Keys: p.spec.Keys(e)}
		p.poisonLocked(x)
		p.markLocked(x)
		return
	}
	if !v.use {
		return // an acknowledged bad event, or one already folded
	}
	for _, key := range p.spec.Keys(e) {
		if te := p.tampered[key]; te != nil && te.Aggregate == e.Aggregate && te.ID == e.AggregateID {
			// It verified against the last good event: the writer went on
			// after the bad one was acknowledged.
			delete(p.tampered, key)
		}
		r, known := p.rows[key]
		if known && r.seq >= seq {
			continue // folded before (a checkpoint written ahead of its position)
		}
		exists := known && !r.gone
		var cur R
		if exists {
			cur = r.val
		}
		out, keep, err := p.spec.Fold(cur, exists, e)
		if err != nil {
			p.poisonLocked(Poison{Seq: seq, Subject: subject, Type: e.Type, Error: err.Error()})
			return
		}
		p.applied++
		if !known {
			r = &row[R]{}
			p.rows[key] = r
		}
		r.seq = seq
		p.dirty[key] = true
		switch {
		case !keep:
			var zero R
			r.val, r.gone = zero, true
			if exists {
				p.live--
				if p.spec.OnChange != nil {
					p.spec.OnChange(key, cur, true)
				}
			}
		default:
			if !exists {
				p.live++
			}
			r.val, r.gone = out, false
			if p.spec.OnChange != nil {
				p.spec.OnChange(key, out, false)
			}
		}
	}
}

// maxPoison bounds the poison events kept in memory.
const maxPoison = 100

func (p *Projection[R]) poisonLocked(x Poison) {
	x.View, x.At = p.spec.Name, time.Now().UTC()
	p.poison = append(p.poison, x)
	if len(p.poison) > maxPoison {
		p.poison = p.poison[len(p.poison)-maxPoison:]
	}
	p.ckpt.notePoison(x)
	if p.opts.OnPoison != nil {
		p.opts.OnPoison(x)
	}
}

// flushIfDue checkpoints when enough rows changed, or (onTick) when any did.
func (p *Projection[R]) flushIfDue(ctx context.Context, onTick bool) error {
	p.mu.RLock()
	n, moved := len(p.dirty), p.pos != p.ckpt.position()
	p.mu.RUnlock()
	if n >= p.opts.FlushEvery || (onTick && (n > 0 || moved)) {
		return p.flush(ctx)
	}
	return nil
}

// flush writes the changed rows, then the position.
func (p *Projection[R]) flush(ctx context.Context) error {
	p.mu.Lock()
	pos := p.pos
	writes := make([]rowWrite, 0, len(p.dirty))
	for key := range p.dirty {
		r := p.rows[key]
		if r.gone {
			writes = append(writes, rowWrite{key: key, seq: r.seq, rev: r.rev, deleted: true})
			continue
		}
		data, err := p.spec.Marshal(r.val)
		if err != nil {
			p.mu.Unlock()
			return fmt.Errorf("row %s: %w", key, err)
		}
		writes = append(writes, rowWrite{key: key, seq: r.seq, rev: r.rev, data: data})
	}
	p.dirty = map[string]bool{}
	p.mu.Unlock()

	revs, failed, err := p.ckpt.write(ctx, writes)
	p.mu.Lock()
	for key, rev := range revs {
		if r, ok := p.rows[key]; ok {
			r.rev = rev
		}
	}
	for _, w := range failed {
		p.dirty[w.key] = true // try again next time
	}
	p.mu.Unlock()
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d rows were not checkpointed; retrying", len(failed))
	}
	return p.ckpt.setPosition(ctx, pos)
}

// Wait returns once the view has applied every matching event at or below
// log position pos, or when ctx ends (Unavailable, so a client may retry).
// pos 0 returns at once.
func (p *Projection[R]) Wait(ctx context.Context, pos uint64) error {
	for {
		p.mu.RLock()
		cur, progress := p.pos, p.progress
		p.mu.RUnlock()
		if cur >= pos {
			return nil
		}
		// The view may be behind pos only by events it does not read: if no
		// matching event lies in (cur, pos], it is as current as pos.
		next, err := p.nextMatching(ctx, cur+1)
		if err != nil {
			return err
		}
		if next == 0 || next > pos {
			return nil
		}
		select {
		case <-progress:
		case <-ctx.Done():
			return &errs.UnavailableError{What: "view " + p.spec.Name, Err: fmt.Errorf("not caught up to position %d (at %d): %w", pos, cur, ctx.Err())}
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// logStream is the event log's stream handle (looked up once).
func (p *Projection[R]) logStream(ctx context.Context) (jetstream.Stream, error) {
	p.streamMu.Lock()
	defer p.streamMu.Unlock()
	if p.stream == nil {
		st, err := p.js.Stream(ctx, p.opts.Stream)
		if err != nil {
			return nil, err
		}
		p.stream = st
	}
	return p.stream, nil
}

// nextMatching is the position of the first event at or after from that
// matches the view's filters (0: none).
func (p *Projection[R]) nextMatching(ctx context.Context, from uint64) (uint64, error) {
	st, err := p.logStream(ctx)
	if err != nil {
		return 0, &errs.UnavailableError{What: "event log", Err: err}
	}
	var first uint64
	for _, f := range p.spec.Filters {
		m, err := st.GetMsg(ctx, from, jetstream.WithGetMsgSubject(f))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue
		}
		if err != nil {
			return 0, &errs.UnavailableError{What: "event log", Err: err}
		}
		if first == 0 || m.Sequence < first {
			first = m.Sequence
		}
	}
	return first, nil
}
