package ports

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
	syncv1 "github.com/penguinmails/floe/proto/gen/flagd/sync/v1"
	"github.com/penguinmails/floe/services/flag/internal/adapters"
)

// SelectorHeader is the gRPC metadata key in which flagd providers send their selector.
const SelectorHeader = "flagd-selector"

// SyncRules are the authorization rules of flagd.sync.v1.FlagSyncService.
// Its handlers authenticate (flagd providers cannot send an authorization
// header, so the token may travel in the selector) and require flag.read in
// the selected environment.
func SyncRules() auth.Rules {
	return auth.Rules{
		syncv1.FlagSyncService_SyncFlags_FullMethodName:     {InHandler: true, Permission: PermRead},
		syncv1.FlagSyncService_FetchAllFlags_FullMethodName: {InHandler: true, Permission: PermRead},
		syncv1.FlagSyncService_GetMetadata_FullMethodName:   {InHandler: true, Permission: PermRead},
	}
}

// FlagSync serves flagd's sync protocol: each environment's flags as one
// flagd flag-definition document, sent on connect and after every change,
// so flagd's providers in in-process mode evaluate Floe's flags locally.
type FlagSync struct {
	syncv1.UnimplementedFlagSyncServiceServer
	sets  *adapters.FlagSets
	authn auth.Authenticator
	authz *auth.Authorizer
}

// NewFlagSync wires the sync server; every dependency is required.
func NewFlagSync(sets *adapters.FlagSets, authn auth.Authenticator, authz *auth.Authorizer) (*FlagSync, error) {
	if sets == nil || authn == nil || authz == nil {
		return nil, errors.New("flag sync: every dependency is required")
	}
	return &FlagSync{sets: sets, authn: authn, authz: authz}, nil
}

// Selector is a parsed selector: "production", "environment=production",
// "production;token=…" (parts separated by ';' or ',').
type Selector struct {
	Environment string
	Token       string
}

// ParseSelector parses a selector; the environment is required.
func ParseSelector(s string) (Selector, error) {
	var sel Selector
	var v errs.Violations
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
		part = strings.TrimSpace(part)
		k, val, isPair := strings.Cut(part, "=")
		switch {
		case !isPair && sel.Environment == "":
			sel.Environment = part
		case isPair && (k == "environment" || k == "env") && sel.Environment == "":
			sel.Environment = val
		case isPair && k == "token" && sel.Token == "":
			sel.Token = val
		default:
			v.Add("selector", "%q: expected the environment and at most a token, as \"production\" or \"production;token=<token>\"", redactToken(part))
		}
	}
	if sel.Environment == "" {
		v.Add("selector", "names no environment: use \"<environment>\" or \"<environment>;token=<token>\"")
	} else {
		ident.Check(&v, "selector.environment", sel.Environment)
	}
	return sel, v.Err()
}

func redactToken(part string) string {
	if k, _, ok := strings.Cut(part, "="); ok && k == "token" {
		return "token=…"
	}
	return part
}

// open authenticates and authorises a sync request: the token from the
// authorization header, else from the selector; the selector from the
// request, else from the flagd-selector header.
func (s *FlagSync) open(ctx context.Context, selector string) (string, error) {
	if selector == "" {
		md, _ := metadata.FromIncomingContext(ctx)
		if vals := md.Get(SelectorHeader); len(vals) > 0 {
			selector = vals[0]
		}
	}
	sel, err := ParseSelector(selector)
	if err != nil {
		return "", err
	}
	token := sel.Token
	if md, _ := metadata.FromIncomingContext(ctx); len(md.Get("authorization")) > 0 {
		if token, err = auth.BearerToken(ctx); err != nil {
			return "", err
		}
	}
	if token == "" {
		return "", &errs.UnauthenticatedError{Message: "missing credentials: send 'authorization: Bearer <token>' or the selector \"" + sel.Environment + ";token=<token>\""}
	}
	p, err := s.authn.Authenticate(ctx, token)
	if err != nil {
		return "", err
	}
	if err := s.authz.Require(auth.WithPrincipal(ctx, p), PermRead, sel.Environment); err != nil {
		return "", err
	}
	return sel.Environment, nil
}

// SyncFlags implements the RPC: the environment's flags now, then after each change.
func (s *FlagSync) SyncFlags(req *syncv1.SyncFlagsRequest, stream syncv1.FlagSyncService_SyncFlagsServer) error {
	ctx := stream.Context()
	env, err := s.open(ctx, req.GetSelector())
	if err != nil {
		return err
	}
	select {
	case <-s.sets.Projection().Ready():
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.sets.Watch(ctx, env, func(set *adapters.Snapshot) error {
		if set.CompileError != nil {
			return &errs.UnavailableError{What: "flag definitions of " + env, Err: set.CompileError}
		}
		return stream.Send(&syncv1.SyncFlagsResponse{FlagConfiguration: string(set.Flagd)})
	})
}

// FetchAllFlags implements the RPC (read-your-writes: it waits for the view
// to reach the environment's last change).
func (s *FlagSync) FetchAllFlags(ctx context.Context, req *syncv1.FetchAllFlagsRequest) (*syncv1.FetchAllFlagsResponse, error) {
	env, err := s.open(ctx, req.GetSelector())
	if err != nil {
		return nil, err
	}
	set, err := s.sets.Get(ctx, env)
	if err != nil {
		return nil, err
	}
	if set.CompileError != nil {
		return nil, &errs.UnavailableError{What: "flag definitions of " + env, Err: set.CompileError}
	}
	return &syncv1.FetchAllFlagsResponse{FlagConfiguration: string(set.Flagd)}, nil
}

// GetMetadata implements flagd's deprecated RPC: it names the source.
func (s *FlagSync) GetMetadata(ctx context.Context, _ *syncv1.GetMetadataRequest) (*syncv1.GetMetadataResponse, error) {
	if _, err := s.open(ctx, ""); err != nil {
		return nil, err
	}
	md, _ := structpb.NewStruct(map[string]any{"source": "floe"})
	return &syncv1.GetMetadataResponse{Metadata: md}, nil
}
