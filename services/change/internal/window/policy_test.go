package window

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/penguinmails/floe/libs/errs"
)

// testPolicy: production opens Tuesday and Thursday evenings (Berlin) and is
// frozen over the year end; every environment is frozen each weekend from
// Friday 15:00 to Monday 08:00 (Berlin). Staging has no windows.
func testPolicy(t testing.TB) Policy {
	t.Helper()
	return Policy{
		Windows: []Window{evening},
		Freezes: []Freeze{
			{ID: "f-yearend", Environments: []string{"production"}, Reason: "year-end",
				Start: at(t, "2025-12-20T00:00:00Z"), End: at(t, "2026-01-05T00:00:00Z"), TimeZone: "Europe/Berlin", CreatedBy: "alice"},
			{ID: "f-weekend", Environments: []string{AllEnvironments}, Reason: "weekend",
				Recurrence: Weekly("15:00", "Fri"), Duration: 65 * time.Hour, TimeZone: "Europe/Berlin", CreatedBy: "alice"},
		},
		OverrideRoles: []string{"release-manager", "admin"},
	}
}

func TestCheckPromotion(t *testing.T) {
	t.Parallel()
	// override is a valid override of the year-end freeze for dave's
	// promotion, granted by erin on Tuesday 23 December 2025, changed by f.
	override := func(f func(*Override)) *Override {
		o := &Override{FreezeID: "f-yearend", Environment: "production", Reason: "fix for CVE-2025-0001",
			RequestedBy: "dave", OverriddenBy: "erin", Roles: []string{"developer", "release-manager"},
			GrantedAt: at(t, "2025-12-23T21:00:00Z")}
		if f != nil {
			f(o)
		}
		return o
	}
	inWindow := func(until string) Reason {
		return Reason{Code: CodeInWindow, WindowID: "w-evening", Until: at(t, until)}
	}
	yearEnd := Reason{Code: CodeFrozen, FreezeID: "f-yearend", Until: at(t, "2026-01-05T00:00:00Z")}
	rejected := func(id string) Reason { return Reason{Code: CodeOverrideRejected, FreezeID: id} }
	noWindows := Reason{Code: CodeNoWindows}

	tests := []struct {
		name        string
		policy      func(*Policy)
		env, now    string
		kind        PromotionKind
		override    *Override
		wantAllowed bool
		want        []Reason
		wantText    []string // fragments of the message
	}{
		{
			name: "in a window", env: "production", now: "2025-01-07T21:30:00Z", kind: PromotionNormal,
			wantAllowed: true, want: []Reason{inWindow("2025-01-07T23:00:00Z")},
			wantText: []string{`promotion to production allowed: window "w-evening" ("Tue/Thu evening") is open until Wed 8 Jan 2025 00:00 CET`},
		},
		{
			name: "outside every window: says when the next opens", env: "production", now: "2025-01-08T12:00:00Z", kind: PromotionNormal,
			want:     []Reason{{Code: CodeOutsideWindow, WindowID: "w-evening", NextOpen: at(t, "2025-01-09T21:00:00Z")}},
			wantText: []string{"promotion to production refused: production is outside its deployment windows; the next, \"w-evening\" (\"Tue/Thu evening\"), opens Thu 9 Jan 2025 22:00 CET"},
		},
		{
			name: "automatic promotions wait for windows too", env: "production", now: "2025-01-08T12:00:00Z", kind: PromotionAutomatic,
			want: []Reason{{Code: CodeOutsideWindow, WindowID: "w-evening", NextOpen: at(t, "2025-01-09T21:00:00Z")}},
		},
		{
			name: "an environment without windows is always open", env: "staging", now: "2025-01-08T03:00:00Z", kind: PromotionNormal,
			wantAllowed: true, want: []Reason{noWindows}, wantText: []string{"staging has no deployment windows, so it is always open"},
		},
		{
			name: "a recurring freeze of every environment", env: "staging", now: "2025-01-11T12:00:00Z", kind: PromotionNormal,
			want:     []Reason{{Code: CodeFrozen, FreezeID: "f-weekend", Until: at(t, "2025-01-13T07:00:00Z")}, noWindows},
			wantText: []string{`staging is frozen by freeze "f-weekend" ("weekend") until Mon 13 Jan 2025 08:00 CET`},
		},
		{
			name: "automatic promotions are frozen too", env: "staging", now: "2025-01-11T12:00:00Z", kind: PromotionAutomatic,
			want: []Reason{{Code: CodeFrozen, FreezeID: "f-weekend", Until: at(t, "2025-01-13T07:00:00Z")}, noWindows},
		},
		{
			name: "an unknown kind is checked like a normal promotion", env: "staging", now: "2025-01-11T12:00:00Z",
			want: []Reason{{Code: CodeFrozen, FreezeID: "f-weekend", Until: at(t, "2025-01-13T07:00:00Z")}, noWindows},
		},
		{
			name: "a rollback during a freeze is allowed", env: "production", now: "2025-12-23T21:30:00Z", kind: PromotionRollback,
			wantAllowed: true, want: []Reason{{Code: CodeRollback}}, wantText: []string{"rollbacks are never blocked"},
		},
		{
			name: "a rollback outside windows is allowed", env: "production", now: "2025-12-27T03:00:00Z", kind: PromotionRollback,
			wantAllowed: true, want: []Reason{{Code: CodeRollback}},
		},
		{
			name: "frozen in a window", env: "production", now: "2025-12-23T21:30:00Z", kind: PromotionNormal,
			want:     []Reason{yearEnd, inWindow("2025-12-23T23:00:00Z")},
			wantText: []string{`production is frozen by freeze "f-yearend" ("year-end") until Mon 5 Jan 2026 01:00 CET`},
		},
		{
			name: "a valid override lifts the freeze", env: "production", now: "2025-12-23T21:30:00Z", kind: PromotionNormal, override: override(nil),
			wantAllowed: true,
			want: []Reason{
				{Code: CodeFreezeOverridden, FreezeID: "f-yearend", Until: at(t, "2026-01-05T00:00:00Z"), Principal: "erin"},
				inWindow("2025-12-23T23:00:00Z"),
			},
			wantText: []string{"is overridden by erin: fix for CVE-2025-0001"},
		},
		{
			name: "an override lifts an automatic promotion's freeze too", env: "production", now: "2025-12-23T21:30:00Z", kind: PromotionAutomatic, override: override(nil),
			wantAllowed: true,
			want: []Reason{
				{Code: CodeFreezeOverridden, FreezeID: "f-yearend", Until: at(t, "2026-01-05T00:00:00Z"), Principal: "erin"},
				inWindow("2025-12-23T23:00:00Z"),
			},
		},
		{
			name: "override by the requester is refused", env: "production", now: "2025-12-23T21:30:00Z", kind: PromotionNormal,
			override: override(func(o *Override) { o.OverriddenBy = "dave" }),
			want:     []Reason{yearEnd, rejected("f-yearend"), inWindow("2025-12-23T23:00:00Z")},
			wantText: []string{"dave cannot override a freeze for their own promotion; a second person must"},
		},
		{
			name: "override without an override role is refused", env: "production", now: "2025-12-23T21:30:00Z", kind: PromotionNormal,
			override: override(func(o *Override) { o.Roles = []string{"developer", "qa"} }),
			want:     []Reason{yearEnd, rejected("f-yearend"), inWindow("2025-12-23T23:00:00Z")},
			wantText: []string{"erin holds none of the roles that may override a freeze (release-manager, admin)"},
		},
		{
			name: "no role may override when the policy names none", env: "production", now: "2025-12-23T21:30:00Z", kind: PromotionNormal,
			policy: func(p *Policy) { p.OverrideRoles = nil }, override: override(nil),
			want:     []Reason{yearEnd, rejected("f-yearend"), inWindow("2025-12-23T23:00:00Z")},
			wantText: []string{"the policy names no role that may override a freeze"},
		},
		{
			name: "override without a reason is refused", env: "production", now: "2025-12-23T21:30:00Z", kind: PromotionNormal,
			override: override(func(o *Override) { o.Reason = " " }),
			want:     []Reason{yearEnd, rejected("f-yearend"), inWindow("2025-12-23T23:00:00Z")},
			wantText: []string{"it gives no reason"},
		},
		{
			name: "override for another environment is refused", env: "production", now: "2025-12-23T21:30:00Z", kind: PromotionNormal,
			override: override(func(o *Override) { o.Environment = "staging" }),
			want:     []Reason{yearEnd, rejected("f-yearend"), inWindow("2025-12-23T23:00:00Z")},
			wantText: []string{`it is for environment "staging", not production`},
		},
		{
			name: "override of a freeze not in effect is refused", env: "production", now: "2025-12-23T21:30:00Z", kind: PromotionNormal,
			override: override(func(o *Override) { o.FreezeID = "f-weekend" }),
			want:     []Reason{yearEnd, rejected("f-weekend"), inWindow("2025-12-23T23:00:00Z")},
			wantText: []string{`the override is for freeze "f-weekend", which is not in effect for production now`},
		},
		{
			name: "expired override is refused", env: "production", now: "2025-12-23T21:30:00Z", kind: PromotionNormal,
			override: override(func(o *Override) { o.ExpiresAt = at(t, "2025-12-23T21:15:00Z") }),
			want:     []Reason{yearEnd, rejected("f-yearend"), inWindow("2025-12-23T23:00:00Z")},
			wantText: []string{"it has expired"},
		},
		{
			name: "override granted later than now is refused", env: "production", now: "2025-12-23T21:30:00Z", kind: PromotionNormal,
			override: override(func(o *Override) { o.GrantedAt = at(t, "2025-12-23T22:00:00Z") }),
			want:     []Reason{yearEnd, rejected("f-yearend"), inWindow("2025-12-23T23:00:00Z")},
			wantText: []string{"it has not been granted yet"},
		},
		{
			name: "override from last weekend does not lift this weekend's freeze", env: "staging", now: "2025-01-11T12:00:00Z", kind: PromotionNormal,
			override: override(func(o *Override) {
				o.FreezeID, o.Environment, o.GrantedAt = "f-weekend", "staging", at(t, "2025-01-04T12:00:00Z")
			}),
			want:     []Reason{{Code: CodeFrozen, FreezeID: "f-weekend", Until: at(t, "2025-01-13T07:00:00Z")}, rejected("f-weekend"), noWindows},
			wantText: []string{"it was granted before the current freeze period began"},
		},
		{
			name: "override of this weekend's freeze", env: "staging", now: "2025-01-11T12:00:00Z", kind: PromotionNormal,
			override: override(func(o *Override) {
				o.FreezeID, o.Environment, o.GrantedAt = "f-weekend", "staging", at(t, "2025-01-10T18:00:00Z")
			}),
			wantAllowed: true,
			want:        []Reason{{Code: CodeFreezeOverridden, FreezeID: "f-weekend", Until: at(t, "2025-01-13T07:00:00Z"), Principal: "erin"}, noWindows},
		},
		{
			name: "a freeze that ended no longer blocks", env: "production", now: "2026-01-06T21:30:00Z", kind: PromotionNormal,
			wantAllowed: true, want: []Reason{inWindow("2026-01-06T23:00:00Z")},
		},
		{
			name: "an override lifts a freeze, not the windows", env: "production", now: "2025-12-22T12:00:00Z", kind: PromotionNormal,
			override: override(func(o *Override) { o.GrantedAt = at(t, "2025-12-22T11:00:00Z") }),
			want: []Reason{
				{Code: CodeFreezeOverridden, FreezeID: "f-yearend", Until: at(t, "2026-01-05T00:00:00Z"), Principal: "erin"},
				{Code: CodeOutsideWindow, WindowID: "w-evening", NextOpen: at(t, "2025-12-23T21:00:00Z")},
			},
		},
		{
			name: "an override lifts only the freeze it names", env: "production", now: "2025-12-27T12:00:00Z", kind: PromotionNormal,
			override: override(func(o *Override) { o.GrantedAt = at(t, "2025-12-27T11:00:00Z") }),
			want: []Reason{
				{Code: CodeFreezeOverridden, FreezeID: "f-yearend", Until: at(t, "2026-01-05T00:00:00Z"), Principal: "erin"},
				{Code: CodeFrozen, FreezeID: "f-weekend", Until: at(t, "2025-12-29T07:00:00Z")},
				{Code: CodeOutsideWindow, WindowID: "w-evening", NextOpen: at(t, "2025-12-30T21:00:00Z")},
			},
		},
		{
			name: "an override when nothing is frozen changes nothing", env: "production", now: "2025-01-07T21:30:00Z", kind: PromotionNormal,
			override: override(nil), wantAllowed: true, want: []Reason{inWindow("2025-01-07T23:00:00Z")},
		},
		{
			name: "an invalid window fails closed", env: "production", now: "2025-01-07T21:30:00Z", kind: PromotionNormal,
			policy: func(p *Policy) {
				p.Windows = append(p.Windows, Window{ID: "w-bad", Environment: "production", Name: "bad",
					Recurrence: Weekly("22:00", "Tue"), Duration: time.Hour, TimeZone: "Nowhere/Land"})
			},
			want:     []Reason{{Code: CodeInvalidPolicy}},
			wantText: []string{`window "w-bad": invalid argument: time_zone: "Nowhere/Land" is not a known IANA time zone`},
		},
		{
			name: "an invalid window of another environment does not matter", env: "staging", now: "2025-01-07T21:30:00Z", kind: PromotionNormal,
			policy: func(p *Policy) {
				p.Windows = append(p.Windows, Window{ID: "w-bad", Environment: "production", Name: "bad", Recurrence: Cron("x")})
			},
			wantAllowed: true, want: []Reason{noWindows},
		},
		{
			name: "an invalid policy does not block a rollback", env: "production", now: "2025-01-07T21:30:00Z", kind: PromotionRollback,
			policy: func(p *Policy) {
				p.Freezes = append(p.Freezes, Freeze{ID: "f-bad", Environments: []string{"production"}})
			},
			wantAllowed: true, want: []Reason{{Code: CodeRollback}},
		},
		{
			name: "windows that never open again", env: "production", now: "2025-01-08T12:00:00Z", kind: PromotionNormal,
			policy: func(p *Policy) {
				w := evening
				w.ValidUntil = at(t, "2025-01-08T00:00:00Z")
				p.Windows = []Window{w}
			},
			want:     []Reason{{Code: CodeOutsideWindow}},
			wantText: []string{"none of them opens again"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := testPolicy(t)
			if tt.policy != nil {
				tt.policy(&p)
			}
			got := CheckPromotion(p, tt.env, at(t, tt.now), tt.kind, tt.override)
			if got.Allowed != tt.wantAllowed {
				t.Errorf("Allowed = %v, want %v: %s", got.Allowed, tt.wantAllowed, got.Message)
			}
			if diff := cmp.Diff(tt.want, got.Reasons, cmpopts.IgnoreFields(Reason{}, "Text"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Reasons (-want +got):\n%s", diff)
			}
			for _, frag := range tt.wantText {
				if !strings.Contains(got.Message, frag) {
					t.Errorf("Message = %q\nwant it to contain %q", got.Message, frag)
				}
			}
			for _, r := range got.Reasons {
				if r.Text == "" {
					t.Errorf("reason %s has no text", r.Code)
				}
			}
			if (got.Err() == nil) != got.Allowed {
				t.Errorf("Err() = %v for Allowed = %v", got.Err(), got.Allowed)
			}
		})
	}
}

func TestVerdictErr(t *testing.T) {
	t.Parallel()
	p := testPolicy(t)
	tests := []struct {
		name, env, now string
		want           map[string]string
	}{
		{name: "outside windows", env: "production", now: "2025-01-08T12:00:00Z", want: map[string]string{
			"codes": "OUTSIDE_WINDOW", "next_window_id": "w-evening", "next_window_opens": "2025-01-09T21:00:00Z"}},
		{name: "frozen and outside windows", env: "production", now: "2025-12-22T12:00:00Z", want: map[string]string{
			"codes": "FROZEN,OUTSIDE_WINDOW", "freeze_id": "f-yearend", "next_window_id": "w-evening", "next_window_opens": "2025-12-23T21:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := CheckPromotion(p, tt.env, at(t, tt.now), PromotionNormal, nil)
			var pe *errs.PreconditionError
			if !errors.As(v.Err(), &pe) {
				t.Fatalf("Err() = %v, want an *errs.PreconditionError", v.Err())
			}
			if diff := cmp.Diff(tt.want, pe.Metadata); diff != "" {
				t.Errorf("Metadata (-want +got):\n%s", diff)
			}
			if !errs.IsClientError(v.Err()) {
				t.Error("a refusal is not a client error")
			}
		})
	}
	v := CheckPromotion(p, "production", at(t, "2025-12-23T21:30:00Z"), PromotionNormal, &Override{
		FreezeID: "f-yearend", Environment: "production", Reason: "hotfix", RequestedBy: "dave", OverriddenBy: "erin",
		Roles: []string{"admin"}, GrantedAt: at(t, "2025-12-23T21:00:00Z")})
	if got := v.Overridden(); len(got) != 1 || got[0].FreezeID != "f-yearend" || got[0].Principal != "erin" {
		t.Errorf("Overridden() = %+v, want the year-end freeze by erin", got)
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	p := testPolicy(t)
	checkViolations(t, p.Validate(), nil)

	bad := testPolicy(t)
	w := evening
	w.TimeZone = "Nowhere"
	bad.Windows = append(bad.Windows, evening, w)
	bad.Freezes[1].Duration = 0
	bad.OverrideRoles = append(bad.OverrideRoles, "release manager")
	checkViolations(t, bad.Validate(), []string{
		`windows[1].id: window "w-evening" is defined twice`,
		`windows[2].time_zone: "Nowhere" is not a known IANA time zone`,
		`windows[2].id: window "w-evening" is defined twice`,
		"freezes[1].duration: 0s is out of range",
		`override_roles[2]: "release manager" is not a valid identifier`,
	})
}

func TestOverrideValidate(t *testing.T) {
	t.Parallel()
	ok := Override{FreezeID: "f1", Environment: "production", Reason: "hotfix", RequestedBy: "dave", OverriddenBy: "erin",
		Roles: []string{"admin"}, GrantedAt: time.Date(2025, 12, 23, 21, 0, 0, 0, time.UTC)}
	with := func(f func(*Override)) Override { o := ok; f(&o); return o }
	tests := []struct {
		name string
		o    Override
		want []string
	}{
		{name: "valid", o: ok},
		{name: "same person", o: with(func(o *Override) { o.OverriddenBy = "dave" }), want: []string{`overridden_by: must be a second person, not the requester "dave"`}},
		{name: "no reason", o: with(func(o *Override) { o.Reason = "" }), want: []string{"reason: is required"}},
		{name: "no roles", o: with(func(o *Override) { o.Roles = nil }), want: []string{"roles: "}},
		{name: "expires before granted", o: with(func(o *Override) { o.ExpiresAt = o.GrantedAt }), want: []string{"expires_at: must be after granted_at"}},
		{name: "empty", o: Override{}, want: []string{"freeze_id: is required", "environment: is required", "reason: is required",
			"requested_by: is required", "overridden_by: is required", "roles: ", "granted_at: is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			checkViolations(t, tt.o.Validate(), tt.want)
		})
	}
}

func TestPromotionKindString(t *testing.T) {
	t.Parallel()
	for k, want := range map[PromotionKind]string{PromotionNormal: "normal", PromotionAutomatic: "automatic", PromotionRollback: "rollback", 0: "PromotionKind(0)"} {
		if got := k.String(); got != want {
			t.Errorf("PromotionKind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}
