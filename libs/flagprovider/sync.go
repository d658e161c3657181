package flagprovider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/penguinmails/floe/libs/flageval"
	syncv1 "github.com/penguinmails/floe/proto/gen/flagd/sync/v1"
)

// run keeps a sync stream open until ctx ends or the server refuses the
// provider at start for good.
func (p *Provider) run(ctx context.Context, conn *grpc.ClientConn) {
	client := syncv1.NewFlagSyncServiceClient(conn)
	attempt := 0
	for {
		delivered, err := p.stream(ctx, client)
		if ctx.Err() != nil {
			return
		}
		if delivered {
			attempt = 0
		}
		if stop := p.lost(err); stop {
			return
		}
		t := time.NewTimer(p.backoff(attempt))
		attempt++
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// backoff is the jittered delay before reconnection attempt n (from 0):
// MinBackoff·2ⁿ capped at MaxBackoff, then a uniform draw from its upper half.
func (p *Provider) backoff(n int) time.Duration {
	d := p.opts.MaxBackoff
	if n < 32 {
		if e := p.opts.MinBackoff << n; e > 0 && e < d {
			d = e
		}
	}
	return d/2 + rand.N(d/2+1)
}

// stream runs one SyncFlags stream, applying every set it receives, until
// it fails; it reports whether it applied any.
func (p *Provider) stream(ctx context.Context, client syncv1.FlagSyncServiceClient) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if p.opts.Token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+p.opts.Token)
	}
	st, err := client.SyncFlags(ctx, &syncv1.SyncFlagsRequest{ProviderId: p.opts.ProviderID, Selector: p.opts.Environment})
	if err != nil {
		return false, err
	}
	delivered := false
	for {
		resp, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return delivered, errors.New("the server ended the sync stream")
		}
		if err != nil {
			return delivered, err
		}
		if err := p.apply(resp.GetFlagConfiguration()); err != nil {
			p.rejected(err)
			continue
		}
		delivered = true
	}
}

// permanent reports whether retrying cannot fix err.
func permanent(err error) bool {
	switch status.Code(err) {
	case codes.Unauthenticated, codes.PermissionDenied, codes.InvalidArgument, codes.Unimplemented:
		return true
	}
	return false
}

// lost records the end of a stream and reports whether to stop: a
// permanent refusal before the first set, while Init waits.
func (p *Provider) lost(err error) bool {
	p.opts.Logger.Warn("flag sync stream lost", "target", p.opts.Target, "environment", p.opts.Environment, "error", err)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastErr = fmt.Errorf("sync stream: %w", err)
	switch {
	case p.status == statusNotReady && permanent(err):
		p.fatal = p.lastErr
		p.closeReadyLocked()
		return true
	case p.status == statusReady && !permanent(err):
		p.status = statusStale
		p.events.push(openfeature.Event{ProviderName: Name, EventType: openfeature.ProviderStale, ProviderEventDetails: openfeature.ProviderEventDetails{
			Message: "lost the flag sync stream; serving the last flag set (position " + fmt.Sprint(p.Position()) + ") while reconnecting: " + err.Error(),
		}})
		p.startGraceLocked()
	case p.status == statusReady || (p.status == statusStale && permanent(err)):
		p.errorLocked(openfeature.GeneralCode, p.lastErr.Error())
	}
	return false
}

// rejected records a set that could not be applied; the last one stays.
func (p *Provider) rejected(err error) {
	p.opts.Logger.Error("flag set rejected", "target", p.opts.Target, "environment", p.opts.Environment, "error", err)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lastErr = err
	if p.status == statusReady || p.status == statusStale {
		p.errorLocked(openfeature.ParseErrorCode, err.Error())
	}
}

// errorLocked moves to the error state and reports it.
func (p *Provider) errorLocked(code openfeature.ErrorCode, msg string) {
	p.stopGraceLocked()
	p.status = statusError
	p.events.push(openfeature.Event{ProviderName: Name, EventType: openfeature.ProviderError, ProviderEventDetails: openfeature.ProviderEventDetails{
		Message: msg + " (serving the last flag set, position " + fmt.Sprint(p.Position()) + ")", ErrorCode: code,
	}})
}

// startGraceLocked reports PROVIDER_ERROR if the provider is still stale
// after ErrorGrace.
func (p *Provider) startGraceLocked() {
	p.stopGraceLocked()
	var t *time.Timer
	t = time.AfterFunc(p.opts.ErrorGrace, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.graceTimer != t || p.status != statusStale {
			return
		}
		p.graceTimer = nil
		msg := fmt.Sprintf("no flag sync stream for %v", p.opts.ErrorGrace)
		if p.lastErr != nil {
			msg += ": " + p.lastErr.Error()
		}
		p.errorLocked(openfeature.GeneralCode, msg)
	})
	p.graceTimer = t
}

func (p *Provider) stopGraceLocked() {
	if p.graceTimer != nil {
		p.graceTimer.Stop()
		p.graceTimer = nil
	}
}

func (p *Provider) closeReadyLocked() {
	select {
	case <-p.readyCh:
	default:
		close(p.readyCh)
	}
}

// apply parses a flag configuration and makes it the current set.
func (p *Provider) apply(config string) error {
	set, err := flageval.Parse([]byte(config))
	if err != nil {
		return fmt.Errorf("flag set from the sync stream: %w", err)
	}
	next := newSnapshot(set, config)
	prev := p.cur.Swap(next)

	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.applied)
	p.applied = make(chan struct{})
	was := p.status
	p.status, p.lastErr = statusReady, nil
	p.stopGraceLocked()
	p.closeReadyLocked()
	if was != statusReady && !p.announce {
		return nil // the first set while Init waits: the SDK reports READY
	}
	meta := map[string]any{PositionKey: float64(next.position)}
	if was != statusReady {
		p.events.push(openfeature.Event{ProviderName: Name, EventType: openfeature.ProviderReady, ProviderEventDetails: openfeature.ProviderEventDetails{
			Message: fmt.Sprintf("flag set at position %d", next.position), EventMetadata: meta,
		}})
	}
	if prev != nil {
		if changed := p.changedKeys(prev, next); len(changed) > 0 {
			p.events.push(openfeature.Event{ProviderName: Name, EventType: openfeature.ProviderConfigChange, ProviderEventDetails: openfeature.ProviderEventDetails{
				Message: fmt.Sprintf("flag set at position %d", next.position), FlagChanges: changed, EventMetadata: meta,
			}})
		}
	}
	return nil
}

func newSnapshot(set *flageval.Set, config string) *snapshot {
	s := &snapshot{set: set, config: config, flags: map[string]float64{}}
	for _, k := range set.Keys() {
		f, _ := set.Flag(k)
		pos, ok := f.Metadata()[PositionKey].(float64)
		if !ok || pos < 0 || pos >= math.MaxUint64 {
			s.flags[k] = math.NaN()
			continue
		}
		s.flags[k] = pos
		s.position = max(s.position, uint64(pos))
	}
	return s
}

// changedKeys lists, sorted, the flags added, removed or changed from a to
// b. A Floe flag's position changes with each change of the flag, so
// positions tell when every flag has one and nothing shared between flags
// ($evaluators, the set's metadata) may have changed; otherwise each
// flag's definition is compared.
func (p *Provider) changedKeys(a, b *snapshot) []string {
	byPosition := !strings.Contains(a.config, `"$evaluators"`) && !strings.Contains(b.config, `"$evaluators"`) &&
		maps.Equal(a.set.Metadata(), b.set.Metadata())
	for _, s := range []*snapshot{a, b} {
		for _, pos := range s.flags {
			byPosition = byPosition && !math.IsNaN(pos)
		}
	}
	var out []string
	if byPosition {
		for k, pos := range b.flags {
			if old, ok := a.flags[k]; !ok || old != pos {
				out = append(out, k)
			}
		}
		for k := range a.flags {
			if _, ok := b.flags[k]; !ok {
				out = append(out, k)
			}
		}
		slices.Sort(out)
		return out
	}
	da, errA := digest(p.seed, a.config)
	db, errB := digest(p.seed, b.config)
	if errA != nil || errB != nil { // both parsed already: not expected
		return slices.Sorted(maps.Keys(b.flags))
	}
	for k, h := range db.flags {
		if old, ok := da.flags[k]; !ok || old != h || da.shared != db.shared {
			out = append(out, k)
		}
	}
	for k := range da.flags {
		if _, ok := db.flags[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// docDigest identifies each flag's definition in a document, and the parts
// every flag may depend on (flag-set metadata, $evaluators).
type docDigest struct {
	flags  map[string]uint64
	shared uint64
}

func digest(seed maphash.Seed, config string) (docDigest, error) {
	var doc struct {
		Flags      map[string]json.RawMessage `json:"flags"`
		Evaluators json.RawMessage            `json:"$evaluators"`
		Metadata   json.RawMessage            `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(config), &doc); err != nil {
		return docDigest{}, err
	}
	d := docDigest{flags: make(map[string]uint64, len(doc.Flags))}
	for k, raw := range doc.Flags {
		d.flags[k] = maphash.Bytes(seed, raw)
	}
	var h maphash.Hash
	h.SetSeed(seed)
	_, _ = h.Write(doc.Evaluators)
	_, _ = h.Write([]byte{0})
	_, _ = h.Write(doc.Metadata)
	d.shared = h.Sum64()
	return d, nil
}
