package domain

import (
	"fmt"
	"math/rand/v2"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
)

// Delivery is a notification's state: the decision and how its delivery goes.
type Delivery struct {
	N *notifyv1.Notification // nil before NotificationPlanned
	// ClaimedBy and ClaimedAt are the instance making the current attempt
	// (empty once it has an outcome).
	ClaimedBy string
	ClaimedAt time.Time
}

// NewDelivery is a notification before any event.
func NewDelivery(string) *Delivery { return &Delivery{} }

// Exists reports whether the notification was planned.
func (d *Delivery) Exists() bool { return d.N != nil }

// Apply folds one event recorded at at, at log position pos.
func (d *Delivery) Apply(e proto.Message, at time.Time, pos uint64) {
	switch ev := e.(type) {
	case *notifyv1.NotificationPlanned:
		d.N = proto.CloneOf(ev.GetNotification())
	case *notifyv1.DeliveryAttempted:
		if d.N == nil {
			return
		}
		d.N.Attempts, d.N.Status = ev.GetAttempt(), notifyv1.DeliveryStatus_DELIVERY_STATUS_SENDING
		d.ClaimedBy, d.ClaimedAt = ev.GetInstance(), at
	case *notifyv1.NotificationDelivered:
		if d.N == nil {
			return
		}
		d.N.Status, d.N.Ref, d.N.DeliveredAt, d.N.NextAttemptAt = notifyv1.DeliveryStatus_DELIVERY_STATUS_DELIVERED, ev.GetRef(), timestamppb.New(at), nil
		d.ClaimedBy, d.ClaimedAt = "", time.Time{}
	case *notifyv1.DeliveryFailed:
		if d.N == nil {
			return
		}
		d.N.Status, d.N.LastError, d.N.NextAttemptAt = notifyv1.DeliveryStatus_DELIVERY_STATUS_RETRYING, ev.GetError(), ev.GetRetryAt()
		d.ClaimedBy, d.ClaimedAt = "", time.Time{}
	case *notifyv1.NotificationDeadLettered:
		if d.N == nil {
			return
		}
		d.N.Status, d.N.LastError, d.N.NextAttemptAt = notifyv1.DeliveryStatus_DELIVERY_STATUS_DEAD_LETTERED, ev.GetError(), nil
		d.ClaimedBy, d.ClaimedAt = "", time.Time{}
	}
	if d.N != nil {
		d.N.Position = pos
	}
}

// Policy is how deliveries are retried.
type Policy struct {
	// MaxAttempts before the notification is dead-lettered (default 8).
	MaxAttempts uint32
	// Base and Cap bound the exponential backoff (defaults 2s, 5m): the
	// wait before attempt n+1 is a random duration up to min(Cap, Base·2ⁿ⁻¹)
	// ("full jitter"), or the receiver's Retry-After when that is longer.
	Base, Cap time.Duration
	// ClaimTimeout is how long an attempt may go without an outcome before
	// another instance may make the next one (default 2m; longer than any
	// channel's timeout).
	ClaimTimeout time.Duration
}

// WithDefaults fills in the zero fields.
func (p Policy) WithDefaults() Policy {
	if p.MaxAttempts == 0 {
		p.MaxAttempts = 8
	}
	if p.Base <= 0 {
		p.Base = 2 * time.Second
	}
	if p.Cap <= 0 {
		p.Cap = 5 * time.Minute
	}
	if p.ClaimTimeout <= 0 {
		p.ClaimTimeout = 2 * time.Minute
	}
	return p
}

// Backoff is the wait after failed attempt n (from 1), at least retryAfter.
func (p Policy) Backoff(n uint32, retryAfter time.Duration, rnd *rand.Rand) time.Duration {
	ceiling := p.Cap
	if n < 32 {
		if d := p.Base << (n - 1); d > 0 && d < ceiling {
			ceiling = d
		}
	}
	wait := time.Duration(rnd.Int64N(int64(ceiling) + 1))
	return max(wait, retryAfter)
}

// Plan decides to open the delivery of n (nothing when it exists already).
func Plan(d *Delivery, n *notifyv1.Notification) []proto.Message {
	if d.Exists() {
		return nil
	}
	return []proto.Message{&notifyv1.NotificationPlanned{Notification: n}}
}

// Due reports whether an attempt of d may be claimed at now.
func (d *Delivery) Due(now time.Time, p Policy) bool {
	if d.N == nil {
		return false
	}
	switch d.N.GetStatus() {
	case notifyv1.DeliveryStatus_DELIVERY_STATUS_PENDING:
		return true
	case notifyv1.DeliveryStatus_DELIVERY_STATUS_RETRYING:
		return !now.Before(d.N.GetNextAttemptAt().AsTime())
	case notifyv1.DeliveryStatus_DELIVERY_STATUS_SENDING:
		return !now.Before(d.ClaimedAt.Add(p.WithDefaults().ClaimTimeout))
	}
	return false
}

// NextDue is when d is next due (zero: never again).
func (d *Delivery) NextDue(p Policy) time.Time {
	if d.N == nil {
		return time.Time{}
	}
	switch d.N.GetStatus() {
	case notifyv1.DeliveryStatus_DELIVERY_STATUS_PENDING:
		return d.N.GetDecidedAt().AsTime()
	case notifyv1.DeliveryStatus_DELIVERY_STATUS_RETRYING:
		return d.N.GetNextAttemptAt().AsTime()
	case notifyv1.DeliveryStatus_DELIVERY_STATUS_SENDING:
		return d.ClaimedAt.Add(p.WithDefaults().ClaimTimeout)
	}
	return time.Time{}
}

// Claim decides that instance makes the next attempt at now; nothing when
// the notification is not due (another instance claimed it, or it is done).
// An attempt over the limit (the last claimant died mid-send) dead-letters.
func Claim(d *Delivery, now time.Time, instance string, p Policy) []proto.Message {
	p = p.WithDefaults()
	if !d.Due(now, p) {
		return nil
	}
	next := d.N.GetAttempts() + 1
	if next > p.MaxAttempts {
		return []proto.Message{&notifyv1.NotificationDeadLettered{Attempt: d.N.GetAttempts(),
			Error: fmt.Sprintf("no outcome of attempt %d within %s, and no attempt left: %s", d.N.GetAttempts(), p.ClaimTimeout, d.N.GetLastError())}}
	}
	return []proto.Message{&notifyv1.DeliveryAttempted{Attempt: next, Instance: instance}}
}

// Outcome is what an attempt came to.
type Outcome struct {
	Ref        string
	Status     int
	Err        string // "" when delivered
	Permanent  bool
	Disable    bool
	RetryAfter time.Duration
}

// Record decides the outcome of attempt by instance: delivered, failed
// (the next attempt due after the backoff) or dead-lettered. Nothing when
// the attempt is no longer the current claim (another instance took over).
func Record(d *Delivery, attempt uint32, instance string, o Outcome, now time.Time, p Policy, rnd *rand.Rand) []proto.Message {
	p = p.WithDefaults()
	if d.N == nil || d.N.GetStatus() != notifyv1.DeliveryStatus_DELIVERY_STATUS_SENDING || d.N.GetAttempts() != attempt || d.ClaimedBy != instance {
		return nil
	}
	switch {
	case o.Err == "":
		return []proto.Message{&notifyv1.NotificationDelivered{Attempt: attempt, Ref: o.Ref, Status: int32(o.Status)}}
	case o.Permanent || o.Disable || attempt >= p.MaxAttempts:
		return []proto.Message{&notifyv1.NotificationDeadLettered{Attempt: attempt, Error: o.Err, Status: int32(o.Status), Disabled: o.Disable}}
	}
	retry := now.Add(p.Backoff(attempt, o.RetryAfter, rnd))
	return []proto.Message{&notifyv1.DeliveryFailed{Attempt: attempt, Error: o.Err, Status: int32(o.Status), RetryAt: timestamppb.New(retry)}}
}
