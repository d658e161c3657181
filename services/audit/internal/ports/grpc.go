// Package ports serves floe.audit.v1.AuditService over a Checkpointer.
package ports

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/auth"
	"github.com/penguinmails/floe/libs/errs"
	"github.com/penguinmails/floe/libs/eventstore/audit"
	auditv1 "github.com/penguinmails/floe/proto/gen/floe/audit/v1"
)

// Server implements auditv1.AuditServiceServer.
type Server struct {
	auditv1.UnimplementedAuditServiceServer
	cp *audit.Checkpointer
}

// New returns a server; cp must not be nil.
func New(cp *audit.Checkpointer) (*Server, error) {
	if cp == nil {
		return nil, errors.New("audit ports: a checkpointer is required")
	}
	return &Server{cp: cp}, nil
}

// Rules are the authorization rules of the service's methods.
func Rules() auth.Rules {
	return auth.Rules{
		auditv1.AuditService_CreateCheckpoint_FullMethodName: {Permission: auth.PermAuditAdmin},
		auditv1.AuditService_GetAuditInfo_FullMethodName:     {Permission: auth.PermAuditRead},
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
