// Package flagprovider is Floe's OpenFeature provider for Go
// (github.com/open-feature/go-sdk): it evaluates an environment's flags
// in-process, with the same evaluator as the flag service
// (libs/flageval), fed by the flag service's flagd sync stream
// (flagd.sync.v1.FlagSyncService/SyncFlags) over gRPC.
//
//	p, err := flagprovider.New(flagprovider.Options{
//		Target: "flag.internal:7400", Environment: "production", Token: token,
//	})
//	if err != nil { ... }
//	if err := openfeature.SetProviderAndWait(p); err != nil { ... }
//	on := openfeature.NewDefaultClient().Boolean(ctx, "new-welcome", false,
//		openfeature.NewEvaluationContext("user-1", map[string]any{"email": email}))
//
// The server sends the whole flag set on connect and after every change;
// the provider parses it and swaps it in atomically, so an evaluation takes
// no lock and makes no network call. While the stream is down it keeps
// serving the last set it applied (the SDK's state is STALE, then ERROR)
// and reconnects with jittered exponential backoff.
//
// Every flag in Floe's sync document carries the event-log position of its
// last change in its metadata ("floe.position"); [Provider.Position] is the
// highest position in the set the provider has applied, and
// [Provider.WaitPosition] waits for one, so a process that has just changed
// a flag (UpdateFlag answers with the flag's position) can read its own
// write.
package flagprovider

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-feature/go-sdk/openfeature"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/penguinmails/floe/libs/flageval"
)

// Name is the provider's name in the SDK's metadata and events.
const Name = "floe"

// PositionKey is the flag-metadata key of a flag's log position (a JSON
// number, so float64 in FlagMetadata: read it with GetFloat).
const PositionKey = "floe.position"

// Defaults of Options.
const (
	DefaultMinBackoff  = 250 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
	DefaultInitTimeout = 10 * time.Second
	DefaultErrorGrace  = 5 * time.Second
	DefaultProviderID  = "floe-go"
)

// Options configure a Provider. Target and Environment are required.
type Options struct {
	// Target is the flag service's gRPC address: "host:port" or any
	// grpc-go target ("dns:///flag.internal:7400").
	Target string
	// Environment is the environment whose flags are served ("production").
	Environment string
	// Token is a Floe bearer token with flag.read in the environment, sent
	// as "authorization: Bearer <token>" on the sync stream.
	Token string
	// Insecure dials without TLS: for loopback and tests only, since the
	// token then crosses the network in clear.
	Insecure bool
	// TLS is the TLS configuration when Insecure is false (nil: the
	// system's roots, the target's host name).
	TLS *tls.Config
	// DialOptions are added after the provider's own (transport
	// credentials, connection backoff), so they take precedence: custom
	// credentials, keepalive, interceptors, a dialer.
	DialOptions []grpc.DialOption
	// MinBackoff and MaxBackoff bound the delay between reconnection
	// attempts: it doubles from MinBackoff up to MaxBackoff, each delay
	// jittered to between half and all of it, and starts again from
	// MinBackoff once a stream has delivered a flag set. Defaults:
	// DefaultMinBackoff, DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// InitTimeout bounds how long Init waits for the first flag set
	// (default DefaultInitTimeout); InitWithContext also stops when its
	// context ends. The provider keeps trying after a timeout and reports
	// PROVIDER_READY when a set arrives.
	InitTimeout time.Duration
	// ErrorGrace is how long the provider reports PROVIDER_STALE after
	// losing its stream before it reports PROVIDER_ERROR (default
	// DefaultErrorGrace). It serves the last set either way.
	ErrorGrace time.Duration
	// ProviderID is sent as SyncFlagsRequest.provider_id (default
	// DefaultProviderID).
	ProviderID string
	// Logger receives connection problems (nil: discarded).
	Logger *slog.Logger
}

// Provider is an OpenFeature provider serving one environment's flags
// in-process. It implements openfeature.FeatureProvider, StateHandler,
// ContextAwareStateHandler and EventHandler. Its evaluation methods are
// safe for concurrent use and lock-free.
type Provider struct {
	opts   Options
	cur    atomic.Pointer[snapshot]
	events *eventQueue
	seed   maphash.Seed // of the sets' digests

	life    sync.Mutex // Init/Shutdown
	cancel  context.CancelFunc
	done    chan struct{} // closed when the sync loop has stopped
	conn    *grpc.ClientConn
	running bool

	mu         sync.Mutex // the fields below: sync status, waiters
	status     syncStatus
	announce   bool          // Init has returned: report READY on becoming ready
	lastErr    error         // why the provider is not (or no longer) ready
	fatal      error         // a refusal at start that retrying will not fix
	applied    chan struct{} // closed and replaced after each applied set
	readyCh    chan struct{} // closed when the first set is applied (per run)
	graceTimer *time.Timer
}

// snapshot is one applied flag set.
type snapshot struct {
	set      *flageval.Set
	position uint64             // the highest of positions
	flags    map[string]float64 // each flag's floe.position (NaN: none)
	config   string             // as received, to tell changes apart when positions cannot
}

type syncStatus uint8

const (
	statusNotReady syncStatus = iota
	statusReady
	statusStale
	statusError
)

var (
	_ openfeature.FeatureProvider          = (*Provider)(nil)
	_ openfeature.StateHandler             = (*Provider)(nil)
	_ openfeature.ContextAwareStateHandler = (*Provider)(nil)
	_ openfeature.EventHandler             = (*Provider)(nil)
)

// New validates opts and returns a provider; it connects at Init.
func New(opts Options) (*Provider, error) {
	var problems []string
	if opts.Target == "" {
		problems = append(problems, "Target (the flag service's gRPC address) is required")
	}
	switch {
	case opts.Environment == "":
		problems = append(problems, "Environment is required")
	case strings.ContainsAny(opts.Environment, ";,= \t\n"):
		problems = append(problems, fmt.Sprintf("Environment %q is not an environment name", opts.Environment))
	}
	if opts.MinBackoff < 0 || opts.MaxBackoff < 0 || opts.InitTimeout < 0 || opts.ErrorGrace < 0 {
		problems = append(problems, "durations must not be negative")
	}
	if len(problems) > 0 {
		return nil, errors.New("flagprovider: " + strings.Join(problems, "; "))
	}
	if opts.MinBackoff == 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	if opts.InitTimeout == 0 {
		opts.InitTimeout = DefaultInitTimeout
	}
	if opts.ErrorGrace == 0 {
		opts.ErrorGrace = DefaultErrorGrace
	}
	if opts.ProviderID == "" {
		opts.ProviderID = DefaultProviderID
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Provider{opts: opts, events: newEventQueue(), seed: maphash.MakeSeed(), applied: make(chan struct{})}, nil
}

// Metadata implements openfeature.FeatureProvider.
func (p *Provider) Metadata() openfeature.Metadata { return openfeature.Metadata{Name: Name} }

// Hooks implements openfeature.FeatureProvider: the provider has none.
func (p *Provider) Hooks() []openfeature.Hook { return nil }

// EventChannel implements openfeature.EventHandler. The provider reports
// PROVIDER_STALE when it loses the stream, PROVIDER_ERROR when it stays
// lost for ErrorGrace or the server refuses it (or sends a set it cannot
// parse), PROVIDER_READY when it has a current set again, and
// PROVIDER_CONFIGURATION_CHANGED with the keys of the flags that were
// added, changed or removed (EventMetadata "floe.position": the new
// position). Delivery never blocks the sync: events wait in a queue in
// which consecutive configuration changes merge.
func (p *Provider) EventChannel() <-chan openfeature.Event { return p.events.out }

// Position is the highest log position ("floe.position") among the flags
// of the set the provider has applied: every change up to it that concerns
// the environment's flags is reflected in evaluations. 0 before a set.
func (p *Provider) Position() uint64 {
	if s := p.cur.Load(); s != nil {
		return s.position
	}
	return 0
}

// WaitPosition returns once the provider has applied a set at position pos
// or later (e.g. the flag position UpdateFlag answered with), or ctx's
// error when ctx ends first.
func (p *Provider) WaitPosition(ctx context.Context, pos uint64) error {
	for {
		p.mu.Lock()
		ch := p.applied
		p.mu.Unlock()
		if p.Position() >= pos {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for flag position %d (at %d): %w", pos, p.Position(), ctx.Err())
		}
	}
}

// Init implements openfeature.StateHandler: InitWithContext without a
// context (bounded by InitTimeout).
func (p *Provider) Init(evalCtx openfeature.EvaluationContext) error {
	return p.InitWithContext(context.Background(), evalCtx)
}

// InitWithContext implements openfeature.ContextAwareStateHandler: it
// starts the sync stream and waits for the first flag set, at most
// InitTimeout and until ctx ends. A refusal that retrying will not fix
// (unauthenticated, permission denied, an invalid environment, a server
// without flagd sync) is a fatal error (PROVIDER_FATAL) and stops the
// provider; on a timeout it keeps trying and reports PROVIDER_READY later.
func (p *Provider) InitWithContext(ctx context.Context, _ openfeature.EvaluationContext) error {
	ready, err := p.start()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.InitTimeout)
	defer cancel()
	var waitErr error
	select {
	case <-ready:
	case <-ctx.Done():
		waitErr = ctx.Err()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.announce = true
	switch {
	case p.fatal != nil:
		return &openfeature.ProviderInitError{ErrorCode: openfeature.ProviderFatalCode, Message: p.fatal.Error()}
	case p.status == statusReady:
		return nil
	}
	p.status = statusError
	msg := fmt.Sprintf("no flag set from %s within the init timeout (%v)", p.opts.Target, waitErr)
	if p.lastErr != nil {
		msg += "; last error: " + p.lastErr.Error()
	}
	return &openfeature.ProviderInitError{ErrorCode: openfeature.GeneralCode, Message: msg}
}

// Shutdown implements openfeature.StateHandler: it stops the sync stream
// and closes the connection. The provider may be initialised again.
func (p *Provider) Shutdown() { _ = p.ShutdownWithContext(context.Background()) }

// ShutdownWithContext implements openfeature.ContextAwareStateHandler.
func (p *Provider) ShutdownWithContext(ctx context.Context) error {
	p.life.Lock()
	defer p.life.Unlock()
	if !p.running {
		return nil
	}
	p.cancel()
	select {
	case <-p.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	p.running = false
	err := p.conn.Close()
	p.mu.Lock()
	p.status, p.announce, p.fatal, p.lastErr = statusNotReady, false, nil, nil
	p.stopGraceLocked()
	p.mu.Unlock()
	return err
}

// start dials and starts the sync loop unless it runs; it returns the
// channel closed when the loop has applied its first set.
func (p *Provider) start() (<-chan struct{}, error) {
	p.life.Lock()
	defer p.life.Unlock()
	if p.running {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.readyCh, nil
	}
	conn, err := grpc.NewClient(p.opts.Target, p.dialOptions()...)
	if err != nil {
		return nil, &openfeature.ProviderInitError{ErrorCode: openfeature.ProviderFatalCode, Message: "flagprovider: " + err.Error()}
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.conn, p.cancel, p.done, p.running = conn, cancel, make(chan struct{}), true
	p.mu.Lock()
	p.readyCh = make(chan struct{})
	ready := p.readyCh
	p.mu.Unlock()
	go func() {
		defer close(p.done)
		p.run(ctx, conn)
	}()
	return ready, nil
}

func (p *Provider) dialOptions() []grpc.DialOption {
	var creds credentials.TransportCredentials
	switch {
	case p.opts.Insecure:
		creds = insecure.NewCredentials()
	case p.opts.TLS != nil:
		creds = credentials.NewTLS(p.opts.TLS.Clone())
	default:
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	out := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		// grpc-go's own reconnection follows the same schedule as the
		// provider's attempts (its default starts at 1 s and reaches 2 min).
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{
			BaseDelay: p.opts.MinBackoff, Multiplier: 2, Jitter: 0.2, MaxDelay: p.opts.MaxBackoff,
		}, MinConnectTimeout: 5 * time.Second}),
	}
	return append(out, p.opts.DialOptions...)
}

// resolve evaluates key as kind for the flattened context.
func (p *Provider) resolve(key string, kind flageval.Kind, flat openfeature.FlattenedContext) (flageval.Result, openfeature.ProviderResolutionDetail, bool) {
	s := p.cur.Load()
	if s == nil {
		return flageval.Result{}, openfeature.ProviderResolutionDetail{
			ResolutionError: openfeature.NewProviderNotReadyResolutionError("flagprovider: no flag set received yet"),
			Reason:          openfeature.ErrorReason,
		}, false
	}
	ec := flageval.Context{Attributes: flat}
	if tk, ok := flat[openfeature.TargetingKey].(string); ok {
		ec.TargetingKey = tk
	}
	r := s.set.EvaluateAs(key, kind, ec)
	d := openfeature.ProviderResolutionDetail{
		Reason:  openfeature.Reason(r.Reason),
		Variant: r.Variant,
		// Shared with the set: the SDK copies it into the evaluation details.
		FlagMetadata: openfeature.FlagMetadata(r.Metadata),
	}
	if r.ErrorCode != "" {
		d.ResolutionError = resolutionError(r.ErrorCode, r.ErrorMessage)
		d.Reason = openfeature.ErrorReason
		return r, d, false
	}
	// DISABLED, or DEFAULT without a default variant: the caller's default.
	return r, d, r.Value != nil
}

// resolutionError maps flageval's error codes to the SDK's resolution errors.
func resolutionError(code, msg string) openfeature.ResolutionError {
	switch code {
	case flageval.ErrFlagNotFound:
		return openfeature.NewFlagNotFoundResolutionError(msg)
	case flageval.ErrParse:
		return openfeature.NewParseErrorResolutionError(msg)
	case flageval.ErrTypeMismatch:
		return openfeature.NewTypeMismatchResolutionError(msg)
	case flageval.ErrTargetingKeyMissing:
		return openfeature.NewTargetingKeyMissingResolutionError(msg)
	case flageval.ErrInvalidContext:
		return openfeature.NewInvalidContextResolutionError(msg)
	default:
		return openfeature.NewGeneralResolutionError(msg)
	}
}

// BooleanEvaluation implements openfeature.FeatureProvider.
func (p *Provider) BooleanEvaluation(_ context.Context, flag string, defaultValue bool, flat openfeature.FlattenedContext) openfeature.BoolResolutionDetail {
	r, d, ok := p.resolve(flag, flageval.KindBool, flat)
	if ok {
		return openfeature.BoolResolutionDetail{Value: r.Value.(bool), ProviderResolutionDetail: d}
	}
	return openfeature.BoolResolutionDetail{Value: defaultValue, ProviderResolutionDetail: d}
}

// StringEvaluation implements openfeature.FeatureProvider.
func (p *Provider) StringEvaluation(_ context.Context, flag string, defaultValue string, flat openfeature.FlattenedContext) openfeature.StringResolutionDetail {
	r, d, ok := p.resolve(flag, flageval.KindString, flat)
	if ok {
		return openfeature.StringResolutionDetail{Value: r.Value.(string), ProviderResolutionDetail: d}
	}
	return openfeature.StringResolutionDetail{Value: defaultValue, ProviderResolutionDetail: d}
}

// FloatEvaluation implements openfeature.FeatureProvider.
func (p *Provider) FloatEvaluation(_ context.Context, flag string, defaultValue float64, flat openfeature.FlattenedContext) openfeature.FloatResolutionDetail {
	r, d, ok := p.resolve(flag, flageval.KindNumber, flat)
	if ok {
		return openfeature.FloatResolutionDetail{Value: r.Value.(float64), ProviderResolutionDetail: d}
	}
	return openfeature.FloatResolutionDetail{Value: defaultValue, ProviderResolutionDetail: d}
}

// IntEvaluation implements openfeature.FeatureProvider: a number flag
// whose value is a whole number in int64's range; any other number is
// TYPE_MISMATCH.
func (p *Provider) IntEvaluation(_ context.Context, flag string, defaultValue int64, flat openfeature.FlattenedContext) openfeature.IntResolutionDetail {
	r, d, ok := p.resolve(flag, flageval.KindNumber, flat)
	if !ok {
		return openfeature.IntResolutionDetail{Value: defaultValue, ProviderResolutionDetail: d}
	}
	f := r.Value.(float64)
	// -2^63 is exact in float64; 2^63 is not an int64.
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		d.ResolutionError = openfeature.NewTypeMismatchResolutionError(fmt.Sprintf("flag %q is %v, not an integer", flag, f))
		d.Reason = openfeature.ErrorReason
		return openfeature.IntResolutionDetail{Value: defaultValue, ProviderResolutionDetail: d}
	}
	return openfeature.IntResolutionDetail{Value: int64(f), ProviderResolutionDetail: d}
}

// ObjectEvaluation implements openfeature.FeatureProvider: an object
// flag's value as map[string]any (a copy the caller may modify).
func (p *Provider) ObjectEvaluation(_ context.Context, flag string, defaultValue any, flat openfeature.FlattenedContext) openfeature.InterfaceResolutionDetail {
	r, d, ok := p.resolve(flag, flageval.KindObject, flat)
	if ok {
		return openfeature.InterfaceResolutionDetail{Value: deepCopy(r.Value), ProviderResolutionDetail: d}
	}
	return openfeature.InterfaceResolutionDetail{Value: defaultValue, ProviderResolutionDetail: d}
}

// deepCopy copies JSON values, so that callers cannot modify the set.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	}
	return v
}
