// Package ports serves floe.audit.v1.AuditService over a Checkpointer.
package ports

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"io"

	"google.golang.org/grpc"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/eventstore/audit"
	auditv1 "github.com/penguinmails/floe/proto/gen/floe/audit/v1"
)

// Server implements auditv1.AuditServiceServer.
type Server struct {
	auditv1.UnimplementedAuditServiceServer
	cp    *audit.Checkpointer
	src   audit.Source
	trust *eventstore.TrustStore
}

// New returns a server; cp and src (the live log, for verification and
// export) must not be nil; trust, when set, checks writers' signatures.
func New(cp *audit.Checkpointer, src audit.Source, trust *eventstore.TrustStore) (*Server, error) {
	if cp == nil || src == nil {
		return nil, errors.New("audit ports: a checkpointer and the log are required")
	}
	return &Server{cp: cp, src: src, trust: trust}, nil
}

// positions checks a request's range.
func positions(from, to uint64) error {
	if to != 0 && to < from {
		var v errs.Violations
		v.Add("to_position", "%d is before from_position %d", to, from)
		return v.Err()
	}
	return nil
}

// VerifyLog implements the RPC.
func (s *Server) VerifyLog(ctx context.Context, req *auditv1.VerifyLogRequest) (*auditv1.VerifyLogResponse, error) {
	if err := positions(req.GetFromPosition(), req.GetToPosition()); err != nil {
		return nil, err
	}
	rep, err := audit.VerifyWith(ctx, audit.Within(s.src, req.GetFromPosition(), req.GetToPosition()), audit.Options{Key: s.cp.PublicKey(), Trust: s.trust})
	if err != nil {
		return nil, &errs.UnavailableError{What: "event log", Err: err}
	}
	out := &auditv1.VerifyLogResponse{
		Ok: rep.OK(), FirstPosition: rep.FirstSeq, LastPosition: rep.LastSeq, Events: rep.Events, Aggregates: uint32(rep.Aggregates),
		Checkpoints: uint32(rep.Checkpoints), SignedSize: rep.SignedSize, KeyId: rep.KeyID, WriterKeys: uint32(rep.WriterKeys),
		UnsignedEvents: rep.UnsignedEvents, Problems: rep.ProblemLines(),
	}
	for _, p := range rep.Acknowledged {
		out.Acknowledged = append(out.Acknowledged, p.String())
	}
	return out, nil
}

// exportChunk is the most bundle bytes one ExportBundle message carries.
const exportChunk = 256 << 10

// ExportBundle implements the RPC: the bundle is written through a pipe and
// sent in chunks as it is produced (memory stays at a chunk).
func (s *Server) ExportBundle(req *auditv1.ExportBundleRequest, stream grpc.ServerStreamingServer[auditv1.ExportBundleResponse]) error {
	if err := positions(req.GetFromPosition(), req.GetToPosition()); err != nil {
		return err
	}
	ctx := stream.Context()
	pr, pw := io.Pipe()
	type result struct {
		st  *audit.ExportStats
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := audit.Export(ctx, s.src, s.cp.PublicKey(), req.GetFromPosition(), req.GetToPosition(), pw, nil)
		pw.CloseWithError(err)
		done <- result{st, err}
	}()
	buf := make([]byte, exportChunk)
	for {
		n, err := io.ReadFull(pr, buf)
		if n > 0 {
			if serr := stream.Send(&auditv1.ExportBundleResponse{Data: append([]byte(nil), buf[:n]...)}); serr != nil {
				pr.CloseWithError(serr)
				<-done
				return serr
			}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			<-done
			return &errs.UnavailableError{What: "event log", Err: err}
		}
	}
	r := <-done
	if r.err != nil {
		return &errs.UnavailableError{What: "event log", Err: r.err}
	}
	return stream.Send(&auditv1.ExportBundleResponse{Done: true, Events: r.st.Events, Checkpoints: uint32(r.st.Checkpoints), FirstPosition: r.st.From, LastPosition: r.st.To})
}

// Rules are the authorization rules of the service's methods.
func Rules() auth.Rules {
	return auth.Rules{
		auditv1.AuditService_CreateCheckpoint_FullMethodName: {Permission: auth.PermAuditAdmin},
		auditv1.AuditService_GetAuditInfo_FullMethodName:     {Permission: auth.PermAuditRead},
		auditv1.AuditService_VerifyLog_FullMethodName:        {Permission: auth.PermAuditRead},
		auditv1.AuditService_ExportBundle_FullMethodName:     {Permission: auth.PermAuditRead},
	}
}

// CreateCheckpoint implements the RPC.
func (s *Server) CreateCheckpoint(ctx context.Context, _ *auditv1.CreateCheckpointRequest) (*auditv1.CreateCheckpointResponse, error) {
	written, err := s.cp.Checkpoint(ctx)
	resp := &auditv1.CreateCheckpointResponse{SignedSize: s.cp.Size()}
	for _, c := range written {
		resp.Checkpoints = append(resp.Checkpoints, &auditv1.Checkpoint{
			Size: c.Size, RootHex: hex.EncodeToString(c.Root), Time: timestamppb.New(c.Time), KeyId: c.KeyID,
		})
	}
	if err != nil {
		// A refusal to sign (a gap, a mismatching event) is a state problem, not a server fault.
		return nil, &errs.PreconditionError{Reasons: []string{err.Error()}}
	}
	return resp, nil
}

// GetAuditInfo implements the RPC.
func (s *Server) GetAuditInfo(ctx context.Context, _ *auditv1.GetAuditInfoRequest) (*auditv1.GetAuditInfoResponse, error) {
	der, err := x509.MarshalPKIXPublicKey(s.cp.PublicKey())
	if err != nil {
		return nil, err
	}
	size, err := s.cp.LogSize(ctx)
	if err != nil {
		return nil, &errs.UnavailableError{What: "event log", Err: err}
	}
	return &auditv1.GetAuditInfoResponse{
		PublicKeyPem: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		KeyId:        audit.KeyID(s.cp.PublicKey()),
		SignedSize:   s.cp.Size(),
		LogSize:      size,
		Origin:       s.cp.Origin(),
	}, nil
}
