// Package auditsvc is the audit service: it signs Merkle checkpoints of the
// event log (after verifying every event they cover) and serves
// floe.audit.v1.AuditService. The audit binary and `floe dev` both start it
// through Service.
package auditsvc

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/penguinmails/floe/libs/eventstore/audit"
	"github.com/penguinmails/floe/libs/service"
	auditv1 "github.com/penguinmails/floe/proto/gen/floe/audit/v1"
	"github.com/penguinmails/floe/services/audit/internal/ports"
)

// KeyFileName is the checkpoint key's file in the data directory of a
// development server (its public key is KeyFileName+".pub").
const KeyFileName = "audit-signing.key"

// Config is the audit service's own configuration.
type Config struct {
	// Key is the ed25519 checkpoint signing key (PKCS#8 PEM).
	Key string `env:"FLOE_AUDIT_KEY" flag:"audit-key" usage:"checkpoint signing key (ed25519, PKCS#8 PEM; required with --nats-url; on an embedded NATS default <data-dir>/audit-signing.key, created, with its public key beside it as .pub)" secret:"true"`
	// Interval is how often a checkpoint is signed while the log grows.
	Interval time.Duration `env:"FLOE_CHECKPOINT_INTERVAL" flag:"checkpoint-interval" default:"1m" usage:"how often to sign a Merkle checkpoint of the event log while it grows"`
}

// Audit is the running service's handle.
type Audit struct {
	// Checkpointer signs the checkpoints.
	Checkpointer *audit.Checkpointer
	// KeyPath is the signing key's file.
	KeyPath string
}

// PublicKey is the key that verifies the checkpoints.
func (a *Audit) PublicKey() ed25519.PublicKey { return a.Checkpointer.PublicKey() }

// Service is the audit service. It owns no aggregate of its own (it writes
// only integrity records, when it finds a bad event) and is the one writer
// of the audit trail (FLOE_AUDIT, subject floe.audit.checkpoint).
var Service = service.Def[Config, *Audit]{
	Name:      "audit",
	Publishes: []string{audit.CheckpointSubject, "$JS.API.STREAM.CREATE." + audit.DefaultAuditStream},
	Register:  register,
}

func register(ctx context.Context, d service.Deps[Config]) (*Audit, error) {
	keyPath := d.Config.Key
	var key ed25519.PrivateKey
	var err error
	switch {
	case keyPath != "":
		key, err = audit.LoadKey(keyPath)
	case d.Embedded && d.DataDir != "":
		keyPath = filepath.Join(d.DataDir, KeyFileName)
		key, err = audit.LoadOrCreateKey(keyPath)
	default:
		err = errors.New("--audit-key is required: the checkpoint signing key (see docs/operations.md)")
	}
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	cp, err := audit.NewCheckpointer(ctx, d.NATS.JS, audit.CheckpointerOptions{Key: key, Replicas: d.Replicas, Clock: d.Clock, Verifier: d.Verifier})
	if err != nil {
		return nil, fmt.Errorf("audit checkpointer: %w", err)
	}
	srv, err := ports.New(cp, &audit.JetStreamSource{JS: d.NATS.JS}, d.Verifier.Trust())
	if err != nil {
		return nil, err
	}
	if err := d.Runtime.Register(&auditv1.AuditService_ServiceDesc, srv, ports.Rules()); err != nil {
		return nil, err
	}
	interval := d.Config.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	d.Runtime.Go("audit-checkpointer", func(ctx context.Context) error {
		return cp.Run(ctx, interval, func(err error) { d.Log.Error().Err(err).Msg("audit checkpoint failed") })
	})
	// A final checkpoint on the way out, so a clean stop leaves everything signed.
	d.Runtime.OnShutdown("audit-checkpoint", func(ctx context.Context) error {
		_, err := cp.Checkpoint(ctx)
		return err
	})
	return &Audit{Checkpointer: cp, KeyPath: keyPath}, nil
}
