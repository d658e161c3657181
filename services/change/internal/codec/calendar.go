package codec

import (
	"time"

	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	"github.com/penguinmails/floe/services/change/internal/window"
)

// Window is the message of a deployment window, with what the calendar
// records beside it. Its duration is carried in whole minutes (a remainder
// is dropped; the domain's windows last whole minutes).
func Window(w window.Window, maintenance bool, createdBy string, createdAt time.Time) *changev1.DeploymentWindow {
	return &changev1.DeploymentWindow{
		Id: w.ID, Environment: w.Environment, Name: w.Name, Recurrence: Recurrence(w.Recurrence),
		DurationMinutes: minutes(w.Duration), TimeZone: w.TimeZone,
		ValidFrom: timestamp(w.ValidFrom), ValidUntil: timestamp(w.ValidUntil),
		Maintenance: maintenance, CreatedBy: createdBy, CreatedAt: timestamp(createdAt),
	}
}

// WindowFromProto is the domain form of a deployment window and whether it
// is a maintenance window (created_by and created_at are the caller's to read).
func WindowFromProto(w *changev1.DeploymentWindow) (window.Window, bool) {
	return window.Window{
		ID: w.GetId(), Environment: w.GetEnvironment(), Name: w.GetName(), Recurrence: RecurrenceFromProto(w.GetRecurrence()),
		Duration: fromMinutes(w.GetDurationMinutes()), TimeZone: w.GetTimeZone(),
		ValidFrom: timeOf(w.GetValidFrom()), ValidUntil: timeOf(w.GetValidUntil()),
	}, w.GetMaintenance()
}

// Freeze is the message of a freeze created at createdAt.
func Freeze(f window.Freeze, createdAt time.Time) *changev1.Freeze {
	return &changev1.Freeze{
		Id: f.ID, Environments: f.Environments, Reason: f.Reason, Start: timestamp(f.Start), End: timestamp(f.End),
		Recurrence: Recurrence(f.Recurrence), DurationMinutes: minutes(f.Duration), TimeZone: f.TimeZone,
		ValidFrom: timestamp(f.ValidFrom), ValidUntil: timestamp(f.ValidUntil),
		CreatedBy: f.CreatedBy, CreatedAt: timestamp(createdAt),
	}
}

// FreezeFromProto is the domain form of a freeze (created_at is the caller's to read).
func FreezeFromProto(f *changev1.Freeze) window.Freeze {
	return window.Freeze{
		ID: f.GetId(), Environments: f.GetEnvironments(), Reason: f.GetReason(),
		Start: timeOf(f.GetStart()), End: timeOf(f.GetEnd()),
		Recurrence: RecurrenceFromProto(f.GetRecurrence()), Duration: fromMinutes(f.GetDurationMinutes()), TimeZone: f.GetTimeZone(),
		ValidFrom: timeOf(f.GetValidFrom()), ValidUntil: timeOf(f.GetValidUntil()), CreatedBy: f.GetCreatedBy(),
	}
}

// Override is the message of a freeze override.
func Override(o window.Override) *changev1.FreezeOverride {
	return &changev1.FreezeOverride{
		FreezeId: o.FreezeID, Environment: o.Environment, Reason: o.Reason, RequestedBy: o.RequestedBy,
		OverriddenBy: o.OverriddenBy, Roles: o.Roles, GrantedAt: timestamp(o.GrantedAt), ExpiresAt: timestamp(o.ExpiresAt),
	}
}

// OverrideFromProto is the domain form of a freeze override.
func OverrideFromProto(o *changev1.FreezeOverride) window.Override {
	return window.Override{
		FreezeID: o.GetFreezeId(), Environment: o.GetEnvironment(), Reason: o.GetReason(), RequestedBy: o.GetRequestedBy(),
		OverriddenBy: o.GetOverriddenBy(), Roles: o.GetRoles(), GrantedAt: timeOf(o.GetGrantedAt()), ExpiresAt: timeOf(o.GetExpiresAt()),
	}
}

// Recurrence is the message of a recurrence (nil when none is set: a
// one-off freeze).
func Recurrence(r window.Recurrence) *changev1.Recurrence {
	if r.IsZero() {
		return nil
	}
	return &changev1.Recurrence{Days: r.Days, At: r.At, Cron: r.Cron}
}

// RecurrenceFromProto is the domain form of a recurrence (nil: none).
func RecurrenceFromProto(r *changev1.Recurrence) window.Recurrence {
	return window.Recurrence{Days: r.GetDays(), At: r.GetAt(), Cron: r.GetCron()}
}

func minutes(d time.Duration) uint32 { return uint32(d / time.Minute) }

func fromMinutes(m uint32) time.Duration { return time.Duration(m) * time.Minute }
