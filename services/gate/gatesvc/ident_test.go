package gatesvc_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/penguinmails/floe/libs/ident"
	"github.com/penguinmails/floe/libs/ident/identtest"
	gatev1 "github.com/penguinmails/floe/proto/gen/floe/gate/v1"
	"github.com/penguinmails/floe/services/gate/internal/domain"
)

// identifierFields are the gate service's fields that become subject
// tokens or keys (release_id, environment, suite), each sent by an RPC with
// every other field valid; gateNames are those that must be gate names
// (which may hold spaces and dots: they are never a token or key).
func identifierFields(w *world, id string) (ids, gateNames []identtest.Field) {
	carol, bob := w.gates("carol"), w.gates("bob")
	field := func(rpc, name string, optional bool, call func(ctx context.Context, v string) error) identtest.Field {
		return identtest.Field{RPC: rpc, Name: name, Optional: optional, Rule: ident.Pattern, Call: call}
	}
	gateField := func(rpc, name string, call func(ctx context.Context, v string) error) identtest.Field {
		return identtest.Field{RPC: rpc, Name: name, Rule: domain.GateNameRule, Valid: domain.ValidGateName, Call: call}
	}
	report := func(h *gatev1.ReportHeader) error {
		stream, err := carol.ReportResults(context.Background())
		if err != nil {
			return err
		}
		if err := stream.Send(&gatev1.ReportResultsRequest{Part: &gatev1.ReportResultsRequest_Header{Header: h}}); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		_ = stream.Send(&gatev1.ReportResultsRequest{Part: &gatev1.ReportResultsRequest_Chunk{Chunk: []byte("{}")}})
		_, err = stream.CloseAndRecv()
		return err
	}
	header := func() *gatev1.ReportHeader {
		return &gatev1.ReportHeader{ReleaseId: id, Environment: "development", Gate: "Unit Tests", Suite: "unit-tests", Format: gatev1.EvidenceFormat_EVIDENCE_FORMAT_SUMMARY}
	}
	gateNames = []identtest.Field{
		gateField("ReportResults", "header.gate", func(_ context.Context, v string) error {
			h := header()
			h.Gate = v
			return report(h)
		}),
		gateField("OverrideGate", "gate", func(ctx context.Context, v string) error {
			_, err := carol.OverrideGate(ctx, &gatev1.OverrideGateRequest{ReleaseId: id, Environment: "development", Gate: v, Reason: "x"})
			return err
		}),
	}
	return []identtest.Field{
		field("ListGateDefinitions", "environment", true, func(ctx context.Context, v string) error {
			_, err := carol.ListGateDefinitions(ctx, &gatev1.ListGateDefinitionsRequest{Environment: v})
			return err
		}),
		field("SetGateDefinition", "environment", false, func(ctx context.Context, v string) error {
			_, err := bob.SetGateDefinition(ctx, &gatev1.SetGateDefinitionRequest{Environment: v, Gate: domain.DefaultDefinitions()["development"][0], Reason: "x"})
			return err
		}),
		field("GetGateStatus", "release_id", false, func(ctx context.Context, v string) error {
			_, err := carol.GetGateStatus(ctx, &gatev1.GetGateStatusRequest{ReleaseId: v})
			return err
		}),
		field("GetGateStatus", "environment", true, func(ctx context.Context, v string) error {
			_, err := carol.GetGateStatus(ctx, &gatev1.GetGateStatusRequest{ReleaseId: id, Environment: v})
			return err
		}),
		field("ReportResults", "header.release_id", false, func(_ context.Context, v string) error {
			h := header()
			h.ReleaseId = v
			return report(h)
		}),
		field("ReportResults", "header.environment", false, func(_ context.Context, v string) error {
			h := header()
			h.Environment = v
			return report(h)
		}),
		field("ReportResults", "header.suite", false, func(_ context.Context, v string) error {
			h := header()
			h.Suite = v
			return report(h)
		}),
		field("OverrideGate", "release_id", false, func(ctx context.Context, v string) error {
			_, err := carol.OverrideGate(ctx, &gatev1.OverrideGateRequest{ReleaseId: v, Environment: "development", Gate: "Unit Tests", Reason: "x"})
			return err
		}),
		field("OverrideGate", "environment", false, func(ctx context.Context, v string) error {
			_, err := carol.OverrideGate(ctx, &gatev1.OverrideGateRequest{ReleaseId: id, Environment: v, Gate: "Unit Tests", Reason: "x"})
			return err
		}),
		field("AcceptSarifBaseline", "suite", false, func(ctx context.Context, v string) error {
			_, err := bob.AcceptSarifBaseline(ctx, &gatev1.AcceptSarifBaselineRequest{ReleaseId: id, Environment: "development", Gate: "Unit Tests", Suite: v, Reason: "x"})
			return err
		}),
		field("WatchGates", "release_id", true, func(ctx context.Context, v string) error {
			// A valid filter streams until the call ends: a second without a
			// refusal is an acceptance. The server may see the deadline first
			// and end the stream cleanly (io.EOF here) — also an acceptance.
			ctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			s, err := carol.WatchGates(ctx, &gatev1.WatchGatesRequest{ReleaseId: v})
			if err == nil {
				_, err = s.Recv()
			}
			if status.Code(err) == codes.DeadlineExceeded || errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}),
	}, gateNames
}

// TestBadIdentifiersAreInvalidArgument sends every bad identifier in every
// such field: InvalidArgument naming the field and its rule, nothing appended.
func TestBadIdentifiersAreInvalidArgument(t *testing.T) {
	w := start(t)
	id := w.create("1.0.0", 0)
	ids, _ := identifierFields(w, id)
	identtest.Run(t, ids, w.LogPosition)
}

// FuzzGateIdentifiers sends arbitrary values in every identifier field of
// one running service: never a server fault; what a field's rule refuses is
// InvalidArgument and appends nothing.
func FuzzGateIdentifiers(f *testing.F) {
	for _, s := range append(identtest.Seeds(), "development", "Unit Tests", "unit-tests", "Unit Tests ") {
		f.Add(s)
	}
	w := startWith(f, defaultTestConfig)
	id := w.create("1.0.0", 0)
	ids, gateNames := identifierFields(w, id)
	fields := append(ids, gateNames...)
	f.Fuzz(func(t *testing.T, s string) { identtest.Check(t, fields, s, w.LogPosition) })
}
