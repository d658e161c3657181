package ports

import (
	"context"
	"encoding/json"
	"time"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/flageval"
	flagv1 "github.com/penguinmails/floe/proto/gen/floe/flag/v1"
	"github.com/penguinmails/floe/services/flag/internal/adapters"
)

// evalContext is an evaluation context from the request's struct: its
// targetingKey attribute is the targeting key, the rest are attributes.
func evalContext(c *structpb.Struct, now time.Time) flageval.Context {
	attrs := c.AsMap()
	key, _ := attrs["targetingKey"].(string)
	delete(attrs, "targetingKey")
	return flageval.Context{TargetingKey: key, Attributes: attrs, Now: now}
}

// evaluation renders one result.
func evaluation(key string, r flageval.Result, set *adapters.Snapshot) *flagv1.Evaluation {
	out := &flagv1.Evaluation{Key: key, Variant: r.Variant, Reason: r.Reason, ErrorCode: r.ErrorCode, ErrorMessage: r.ErrorMessage}
	if r.Value != nil {
		if v, err := structpb.NewValue(jsonable(r.Value)); err == nil {
			out.Value = v
		}
	}
	meta := map[string]any{}
	for k, v := range r.Metadata {
		meta[k] = jsonable(v)
	}
	meta["floe.version"] = float64(set.Version)
	if m, err := structpb.NewStruct(meta); err == nil {
		out.Metadata = m
	}
	return out
}

// jsonable is v as structpb takes it (numbers as float64).
func jsonable(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return nil
	}
	return out
}

func (s *Server) evaluator(set *adapters.Snapshot) (*flageval.Set, error) {
	if set.Eval == nil {
		return nil, &errs.UnavailableError{What: "flag evaluator", Err: set.CompileError}
	}
	return set.Eval, nil
}

// Evaluate implements the RPC (as of the view now: evaluations never wait).
func (s *Server) Evaluate(ctx context.Context, req *flagv1.EvaluateRequest) (*flagv1.EvaluateResponse, error) {
	if err := s.target(ctx, PermRead, "environment", req.GetEnvironment(), "key", req.GetKey()); err != nil {
		return nil, err
	}
	set := s.sets.Current(req.GetEnvironment())
	ev, err := s.evaluator(set)
	if err != nil {
		return nil, err
	}
	ec := evalContext(req.GetContext(), s.svc.Now())
	out := evaluation(req.GetKey(), ev.Evaluate(req.GetKey(), ec), set)
	if req.GetExplain() {
		b, err := json.MarshalIndent(ev.Explain(req.GetKey(), ec), "", "  ")
		if err == nil {
			out.Explanation = string(b)
		}
	}
	return &flagv1.EvaluateResponse{Evaluation: out}, nil
}

// EvaluateAll implements the RPC.
func (s *Server) EvaluateAll(ctx context.Context, req *flagv1.EvaluateAllRequest) (*flagv1.EvaluateAllResponse, error) {
	if err := s.target(ctx, PermRead, "environment", req.GetEnvironment(), "", ""); err != nil {
		return nil, err
	}
	set := s.sets.Current(req.GetEnvironment())
	ev, err := s.evaluator(set)
	if err != nil {
		return nil, err
	}
	ec, err := evalContext(req.GetContext(), s.svc.Now()).Normalize()
	if err != nil {
		return nil, errs.Invalid("context", "%v", err)
	}
	out := &flagv1.EvaluateAllResponse{Version: set.Version}
	for _, key := range ev.Keys() {
		out.Evaluations = append(out.Evaluations, evaluation(key, ev.Evaluate(key, ec), set))
	}
	return out, nil
}

// ImportFlagd implements the RPC.
func (s *Server) ImportFlagd(ctx context.Context, req *flagv1.ImportFlagdRequest) (*flagv1.ImportFlagdResponse, error) {
	if err := s.target(ctx, PermWrite, "environment", req.GetEnvironment(), "", ""); err != nil {
		return nil, err
	}
	if len(req.GetDefinition()) > 4<<20 {
		return nil, &errs.TooLargeError{Field: "definition", Size: len(req.GetDefinition()), Limit: 4 << 20}
	}
	flags, err := s.svc.Import(ctx, req.GetEnvironment(), req.GetDefinition(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &flagv1.ImportFlagdResponse{Flags: flags}, nil
}

// ExportFlagd implements the RPC.
func (s *Server) ExportFlagd(ctx context.Context, req *flagv1.ExportFlagdRequest) (*flagv1.ExportFlagdResponse, error) {
	if err := s.target(ctx, PermRead, "environment", req.GetEnvironment(), "", ""); err != nil {
		return nil, err
	}
	set, err := s.sets.Get(ctx, req.GetEnvironment())
	if err != nil {
		return nil, err
	}
	return &flagv1.ExportFlagdResponse{Definition: set.Flagd, Version: set.Version}, nil
}
