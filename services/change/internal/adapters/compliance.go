// Package adapters connects the change service to NATS: the reactor that
// follows deployments, and the compliance report's reading of the log and
// its audit verification.
package adapters

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/penguinmails/floe/libs/eventstore"
	"github.com/penguinmails/floe/libs/eventstore/audit"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	"github.com/penguinmails/floe/services/change/internal/report"
)

// Compliance builds compliance reports from the log.
type Compliance struct {
	JS          jetstream.JetStream
	Stream      string
	AuditStream string
	// KeyFile holds the audit checkpoints' public key (PEM or base64), read
	// at each report (the audit service may create it after this service
	// starts); without it the report says its verification was not run.
	KeyFile string
	// Trust checks every event's writer signature as well (optional).
	Trust *eventstore.TrustStore
}

// reportAggregates are the aggregates a report reads.
var reportAggregates = []string{"release", "deployment", "gaterun", "change", "changecal"}

// Report reads the log from its start to its head now (events before from
// give context; events at or after to are not read past), builds the
// report, and verifies exactly the positions the report covers.
func (c *Compliance) Report(ctx context.Context, from, to time.Time, envs []string, now time.Time) (*changev1.ComplianceReport, error) {
	stream := c.Stream
	if stream == "" {
		stream = eventstore.DefaultStream
	}
	st, err := c.JS.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("event stream %s: %w", stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, err
	}
	b := report.New(from, to, envs)
	if last := info.State.LastSeq; last > 0 {
		err = eventstore.ReadDirect(ctx, c.JS, stream, eventstore.SubjectPrefix+">", 1, last, func(e *eventstore.RecordedEvent) (bool, error) {
			if !reportAggregate(e.Aggregate) {
				return true, nil
			}
			m, err := e.Decode()
			if err != nil {
				return true, nil // verification reports it
			}
			b.Add(report.Event{Position: e.Seq, Time: e.Time, Actor: e.Actor, Aggregate: e.Aggregate, ID: e.AggregateID, Msg: m})
			return true, nil
		})
		if err != nil {
			return nil, fmt.Errorf("read the log: %w", err)
		}
	}
	r := b.Report(now)
	r.Verification = c.verify(ctx, stream, r.GetFirstPosition(), r.GetLastPosition())
	return r, nil
}

func reportAggregate(agg string) bool { return slices.Contains(reportAggregates, agg) }

func (c *Compliance) verify(ctx context.Context, stream string, first, last uint64) *changev1.AuditVerification {
	out := &changev1.AuditVerification{FirstPosition: first, LastPosition: last}
	var key ed25519.PublicKey
	if c.KeyFile != "" {
		data, err := os.ReadFile(c.KeyFile)
		if err == nil {
			key, err = audit.ParsePublicKey(data)
		}
		if err != nil {
			out.Problems = []string{"the audit public key: " + err.Error()}
			return out
		}
	}
	switch {
	case key == nil:
		out.Skipped = "no audit public key configured (--audit-public-key): the log was not verified"
		return out
	case first == 0:
		out.Ok = true
		out.Skipped = "the period holds no event: nothing to verify"
		return out
	}
	src := audit.Within(&audit.JetStreamSource{JS: c.JS, Stream: stream, AuditStream: c.AuditStream}, first, last)
	rep, err := audit.VerifyWith(ctx, src, audit.Options{Key: key, Trust: c.Trust})
	if err != nil {
		out.Problems = []string{"the verification could not read the log: " + err.Error()}
		return out
	}
	out.Ok = rep.OK()
	out.Events = rep.Events
	out.Checkpoints = uint32(rep.Checkpoints)
	out.KeyId = rep.KeyID
	out.UnsignedEvents = rep.UnsignedEvents
	out.Problems = rep.ProblemLines()
	return out
}
