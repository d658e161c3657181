package ports

import (
	"context"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/errs"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	"github.com/penguinmails/floe/services/change/internal/codec"
	"github.com/penguinmails/floe/services/change/internal/report"
)

func timestamp(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

// CreateWindow implements WindowService.
func (s *Server) CreateWindow(ctx context.Context, req *changev1.CreateWindowRequest) (*changev1.CreateWindowResponse, error) {
	w, err := s.svc.CreateWindow(ctx, req.GetWindow())
	if err != nil {
		return nil, err
	}
	out := &changev1.CreateWindowResponse{Window: w}
	dw, _ := codec.WindowFromProto(w)
	now := s.svc.Now()
	if iv, ok := dw.OpenAt(now); ok {
		out.NextStart, out.NextEnd = timestamp(iv.Start), timestamp(iv.End)
	} else if iv, ok := dw.NextOpen(now); ok {
		out.NextStart, out.NextEnd = timestamp(iv.Start), timestamp(iv.End)
	}
	return out, nil
}

// DeleteWindow implements WindowService.
func (s *Server) DeleteWindow(ctx context.Context, req *changev1.DeleteWindowRequest) (*changev1.DeleteWindowResponse, error) {
	if err := s.svc.DeleteWindow(ctx, req.GetId(), req.GetReason()); err != nil {
		return nil, err
	}
	return &changev1.DeleteWindowResponse{}, nil
}

// CreateFreeze implements WindowService.
func (s *Server) CreateFreeze(ctx context.Context, req *changev1.CreateFreezeRequest) (*changev1.CreateFreezeResponse, error) {
	f, err := s.svc.CreateFreeze(ctx, req.GetFreeze())
	if err != nil {
		return nil, err
	}
	return &changev1.CreateFreezeResponse{Freeze: f}, nil
}

// DeleteFreeze implements WindowService.
func (s *Server) DeleteFreeze(ctx context.Context, req *changev1.DeleteFreezeRequest) (*changev1.DeleteFreezeResponse, error) {
	if err := s.svc.DeleteFreeze(ctx, req.GetId(), req.GetReason()); err != nil {
		return nil, err
	}
	return &changev1.DeleteFreezeResponse{}, nil
}

// ListWindows implements WindowService: the calendar and each environment's state at a moment.
func (s *Server) ListWindows(ctx context.Context, req *changev1.ListWindowsRequest) (*changev1.ListWindowsResponse, error) {
	cal, err := s.svc.Calendar(ctx)
	if err != nil {
		return nil, err
	}
	at := s.svc.Now()
	if req.GetAt() != nil {
		at = req.GetAt().AsTime()
	}
	env := req.GetEnvironment()
	envs := s.svc.Environments()
	if env != "" {
		if !slices.Contains(envs, env) {
			return nil, errs.Invalid("environment", "unknown environment %q (known: %v)", env, envs)
		}
		envs = []string{env}
	}
	out := &changev1.ListWindowsResponse{Environments: cal.Status(envs, s.svc.OverrideRoles(), at)}
	for _, w := range cal.SortedWindows() {
		if env == "" || w.GetEnvironment() == env {
			out.Windows = append(out.Windows, w)
		}
	}
	for _, f := range cal.SortedFreezes() {
		if env == "" || codec.FreezeFromProto(f).AppliesTo(env) {
			out.Freezes = append(out.Freezes, f)
		}
	}
	for _, o := range cal.Overrides {
		if env == "" || o.GetEnvironment() == env {
			out.Overrides = append(out.Overrides, o)
		}
	}
	return out, nil
}

// OverrideFreeze implements WindowService.
func (s *Server) OverrideFreeze(ctx context.Context, req *changev1.OverrideFreezeRequest) (*changev1.OverrideFreezeResponse, error) {
	o, err := s.svc.OverrideFreeze(ctx, req.GetFreezeId(), req.GetEnvironment(), req.GetRequestedBy(), req.GetReason(), asTime(req.GetExpiresAt()))
	if err != nil {
		return nil, err
	}
	return &changev1.OverrideFreezeResponse{Override: o}, nil
}

// MaxReportDays bounds a report's period.
const MaxReportDays = 3660

// GetComplianceReport implements ComplianceService.
func (s *Server) GetComplianceReport(ctx context.Context, req *changev1.GetComplianceReportRequest) (*changev1.GetComplianceReportResponse, error) {
	var v errs.Violations
	if req.GetFrom() == nil {
		v.Add("from", "is required")
	}
	if req.GetTo() == nil {
		v.Add("to", "is required")
	}
	from, to := req.GetFrom().AsTime(), req.GetTo().AsTime()
	if req.GetFrom() != nil && req.GetTo() != nil {
		if !to.After(from) {
			v.Add("to", "must be after from")
		} else if to.Sub(from) > MaxReportDays*24*time.Hour {
			v.Add("to", "the period is longer than %d days", MaxReportDays)
		}
	}
	format := req.GetFormat()
	if format != "" && format != "json" && format != "markdown" {
		v.Add("format", "%q is not json or markdown", format)
	}
	envs := req.GetEnvironments()
	known := s.svc.Environments()
	for i, env := range envs {
		if !slices.Contains(known, env) {
			v.Add("environments", "[%d] unknown environment %q (known: %v)", i, env, known)
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if len(envs) == 0 {
		envs = s.reportEnvs
	}
	for _, env := range envs {
		if err := s.authz.Require(ctx, PermReport, env); err != nil {
			return nil, err
		}
	}
	r, err := s.compliance.Report(ctx, from, to, envs, s.svc.Now())
	if err != nil {
		return nil, err
	}
	if req.GetSample() > 0 {
		report.Sample(r, int(req.GetSample()), req.GetSeed())
	}
	out := &changev1.GetComplianceReportResponse{Report: r}
	if format == "markdown" {
		out.Rendered = report.Markdown(r)
	} else {
		b, err := report.JSON(r)
		if err != nil {
			return nil, err
		}
		out.Rendered = string(b)
	}
	return out, nil
}
