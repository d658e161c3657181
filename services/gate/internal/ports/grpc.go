// Package ports serves floe.gate.v1.GateService over gRPC. Every field that
// names an aggregate or becomes a subject token is checked here first
// (release_id, environment and suite are identifiers, a gate a gate name).
package ports

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/ident"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
	"github.com/penguinmails/floe/services/gate/internal/adapters"
	"github.com/penguinmails/floe/services/gate/internal/app"
	"github.com/penguinmails/floe/services/gate/internal/domain"
)

// Permissions of the gate service.
const (
	PermRead     auth.Permission = "gate.read"
	PermRecord   auth.Permission = "gate.record"
	PermDefine   auth.Permission = "gate.define"
	PermOverride auth.Permission = "gate.override"
)

// Rules are the authorization rules of every RPC (checked in some
// environment by the interceptor, then in the request's by the handler).
func Rules() auth.Rules {
	r := auth.Rules{}
	for m, p := range map[string]auth.Permission{
		gatev1.GateService_ListGateDefinitions_FullMethodName: PermRead,
		gatev1.GateService_SetGateDefinition_FullMethodName:   PermDefine,
		gatev1.GateService_GetGateStatus_FullMethodName:       PermRead,
		gatev1.GateService_ReportResults_FullMethodName:       PermRecord,
		gatev1.GateService_OverrideGate_FullMethodName:        PermOverride,
		gatev1.GateService_WatchGates_FullMethodName:          PermRead,
		gatev1.GateService_AcceptSarifBaseline_FullMethodName: PermDefine,
	} {
		r[m] = auth.Rule{Permission: p}
	}
	return r
}

// Server implements gatev1.GateServiceServer.
type Server struct {
	gatev1.UnimplementedGateServiceServer
	svc      *app.Service
	runs     *adapters.Runs
	defs     *adapters.Definitions
	evidence *adapters.Evidence
	authz    *auth.Authorizer
}

// NewServer wires the server; every dependency is required.
func NewServer(svc *app.Service, runs *adapters.Runs, defs *adapters.Definitions, evidence *adapters.Evidence, authz *auth.Authorizer) (*Server, error) {
	if svc == nil || runs == nil || defs == nil || evidence == nil || authz == nil {
		return nil, errors.New("gate server: every dependency is required")
	}
	return &Server{svc: svc, runs: runs, defs: defs, evidence: evidence, authz: authz}, nil
}

// ListGateDefinitions implements the RPC.
func (s *Server) ListGateDefinitions(ctx context.Context, req *gatev1.ListGateDefinitionsRequest) (*gatev1.ListGateDefinitionsResponse, error) {
	if env := req.GetEnvironment(); env != "" {
		var v errs.Violations
		ident.Check(&v, "environment", env)
		if err := v.Err(); err != nil {
			return nil, err
		}
	}
	envs, err := s.defs.List(ctx, req.GetEnvironment())
	if err != nil {
		return nil, err
	}
	return &gatev1.ListGateDefinitionsResponse{Environments: envs}, nil
}

// SetGateDefinition implements the RPC.
func (s *Server) SetGateDefinition(ctx context.Context, req *gatev1.SetGateDefinitionRequest) (*gatev1.SetGateDefinitionResponse, error) {
	var v errs.Violations
	ident.Check(&v, "environment", req.GetEnvironment())
	if req.GetGate() == nil {
		v.Add("gate", "is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.authz.Require(ctx, PermDefine, req.GetEnvironment()); err != nil {
		return nil, err
	}
	d, err := s.svc.SetGate(ctx, req.GetEnvironment(), req.GetGate(), req.GetRemove(), req.GetReason(), req.GetExpectedVersion())
	if err != nil {
		return nil, err
	}
	return &gatev1.SetGateDefinitionResponse{Environment: d.View()}, nil
}

// GetGateStatus implements the RPC.
func (s *Server) GetGateStatus(ctx context.Context, req *gatev1.GetGateStatusRequest) (*gatev1.GetGateStatusResponse, error) {
	var v errs.Violations
	ident.Check(&v, "release_id", req.GetReleaseId())
	var envs []string
	if env := req.GetEnvironment(); env != "" {
		ident.Check(&v, "environment", env)
		envs = []string{env}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var runs []*gatev1.GateRun
	var err error
	if req.GetAsOfPosition() > 0 || req.GetAsOfTime() != nil {
		runs, err = s.runs.AsOf(ctx, req.GetReleaseId(), envs, req.GetAsOfPosition(), req.GetAsOfTime())
	} else {
		runs, err = s.runs.ForRelease(ctx, req.GetReleaseId(), envs)
	}
	if err != nil {
		return nil, err
	}
	return &gatev1.GetGateStatusResponse{Runs: runs}, nil
}

// maxChunk bounds one message of a report (gRPC's default message limit is 4 MiB).
const maxChunk = 1 << 20

// ReportResults implements the RPC: a header, then the report in chunks.
func (s *Server) ReportResults(stream grpc.ClientStreamingServer[gatev1.ReportResultsRequest, gatev1.ReportResultsResponse]) error {
	ctx := stream.Context()
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return errs.Invalid("header", "is required: the first message names the release, environment, gate, suite and format")
	}
	if err != nil {
		return err
	}
	h := first.GetHeader()
	var v errs.Violations
	if h == nil {
		v.Add("header", "is required as the first message (before any chunk)")
		return v.Err()
	}
	ident.Check(&v, "header.release_id", h.GetReleaseId())
	ident.Check(&v, "header.environment", h.GetEnvironment())
	domain.CheckGateName(&v, "header.gate", h.GetGate())
	ident.Check(&v, "header.suite", h.GetSuite())
	switch h.GetFormat() {
	case gatev1.EvidenceFormat_EVIDENCE_FORMAT_JUNIT, gatev1.EvidenceFormat_EVIDENCE_FORMAT_SARIF, gatev1.EvidenceFormat_EVIDENCE_FORMAT_SUMMARY:
	default:
		v.Add("header.format", "must be junit, sarif or summary")
	}
	if len(h.GetFilename()) > 255 {
		v.Add("header.filename", "at most 255 bytes")
	}
	if err := v.Err(); err != nil {
		return err
	}
	if err := s.authz.Require(ctx, PermRecord, h.GetEnvironment()); err != nil {
		return err
	}
	t := app.ReportTarget{ReleaseID: h.GetReleaseId(), Environment: h.GetEnvironment(), Gate: h.GetGate(), Suite: h.GetSuite()}
	_, run, err := s.svc.Target(ctx, t)
	if err != nil {
		return err
	}
	staged, err := s.evidence.Stage(func() ([]byte, error) {
		m, err := stream.Recv()
		if err != nil {
			return nil, err
		}
		if m.GetHeader() != nil {
			return nil, errs.Invalid("header", "only the first message is a header")
		}
		if len(m.GetChunk()) > maxChunk {
			return nil, &errs.TooLargeError{Field: "chunk", Size: len(m.GetChunk()), Limit: maxChunk}
		}
		return m.GetChunk(), nil
	})
	if err != nil {
		return err
	}
	defer staged.Close()
	var baseline []string
	var baselineDigest string
	if h.GetFormat() == gatev1.EvidenceFormat_EVIDENCE_FORMAT_SARIF {
		// The newer of the suite's last passing report and an accepted baseline,
		// as of everything the log holds now.
		if err := s.runs.Sync(ctx); err != nil {
			return err
		}
		if err := s.defs.Sync(ctx); err != nil {
			return err
		}
		keys := ""
		if st := s.runs.LastPassingSARIF(run.Product, run.Environment, t.Gate, t.Suite); st != nil {
			keys, baselineDigest = st.GetEvidence().GetErrorKeysDigest(), st.GetEvidence().GetDigest()
			if a := s.defs.Accepted(run.Environment, run.Product, t.Gate, t.Suite); a != nil && a.GetAcceptedAt().AsTime().After(st.GetReportedAt().AsTime()) {
				keys, baselineDigest = a.GetErrorKeysDigest(), a.GetEvidenceDigest()
			}
		} else if a := s.defs.Accepted(run.Environment, run.Product, t.Gate, t.Suite); a != nil {
			keys, baselineDigest = a.GetErrorKeysDigest(), a.GetEvidenceDigest()
		}
		if keys != "" {
			if baseline, err = s.evidence.ErrorKeys(ctx, keys); err != nil {
				return err
			}
		}
	}
	ev, err := s.evidence.Read(ctx, staged, h.GetFormat(), h.GetFilename(), baseline, baselineDigest)
	if err != nil {
		return err
	}
	if err := s.evidence.Keep(ctx, staged, h.GetFilename()); err != nil {
		return err
	}
	after, passed, why, err := s.svc.Report(ctx, t, ev)
	if err != nil {
		return err
	}
	return stream.SendAndClose(&gatev1.ReportResultsResponse{Evidence: ev, Passed: passed, Reason: why, Run: after.View()})
}

// OverrideGate implements the RPC.
func (s *Server) OverrideGate(ctx context.Context, req *gatev1.OverrideGateRequest) (*gatev1.OverrideGateResponse, error) {
	var v errs.Violations
	ident.Check(&v, "release_id", req.GetReleaseId())
	ident.Check(&v, "environment", req.GetEnvironment())
	domain.CheckGateName(&v, "gate", req.GetGate())
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.authz.Require(ctx, PermOverride, req.GetEnvironment()); err != nil {
		return nil, err
	}
	r, err := s.svc.Override(ctx, req.GetReleaseId(), req.GetEnvironment(), req.GetGate(), req.GetReason(), req.GetExpiresAt())
	if err != nil {
		return nil, err
	}
	return &gatev1.OverrideGateResponse{Run: r.View()}, nil
}

// WatchGates implements the RPC.
func (s *Server) WatchGates(req *gatev1.WatchGatesRequest, stream grpc.ServerStreamingServer[gatev1.WatchGatesResponse]) error {
	var v errs.Violations
	if id := req.GetReleaseId(); id != "" {
		ident.Check(&v, "release_id", id)
	}
	if env := req.GetEnvironment(); env != "" {
		ident.Check(&v, "environment", env)
	}
	if err := v.Err(); err != nil {
		return err
	}
	return s.runs.Watch(stream.Context(), req.GetReleaseId(), req.GetEnvironment(), func(r *gatev1.GateRun) error {
		return stream.Send(&gatev1.WatchGatesResponse{Run: r})
	})
}

// AcceptSarifBaseline implements the RPC.
func (s *Server) AcceptSarifBaseline(ctx context.Context, req *gatev1.AcceptSarifBaselineRequest) (*gatev1.AcceptSarifBaselineResponse, error) {
	var v errs.Violations
	ident.Check(&v, "release_id", req.GetReleaseId())
	ident.Check(&v, "environment", req.GetEnvironment())
	domain.CheckGateName(&v, "gate", req.GetGate())
	ident.Check(&v, "suite", req.GetSuite())
	if err := v.Err(); err != nil {
		return nil, err
	}
	if err := s.authz.Require(ctx, PermDefine, req.GetEnvironment()); err != nil {
		return nil, err
	}
	b, err := s.svc.AcceptBaseline(ctx, req.GetReleaseId(), req.GetEnvironment(), req.GetGate(), req.GetSuite(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &gatev1.AcceptSarifBaselineResponse{Baseline: b}, nil
}
