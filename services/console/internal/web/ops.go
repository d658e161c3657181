package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/penguinmails/floe/libs/enumtext"
	changev1 "github.com/penguinmails/floe/proto/gen/floe/change/v1"
	configv1 "github.com/penguinmails/floe/proto/gen/floe/config/v1"
	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
	notifyv1 "github.com/penguinmails/floe/proto/gen/floe/notify/v1"
)

// The operations pages: what the notifier told whom, the monitor's alerts
// and the status page's incidents, an environment's configuration and its
// differences, and the change calendar. They only read: each shows what its
// service answers the signed-in user, and a refusal with the service's reason.

// registerOps adds the operations pages to mux.
func (h *Handler) registerOps(mux *http.ServeMux) {
	mux.HandleFunc("GET /notifications", h.authed(h.notifications))
	mux.HandleFunc("GET /alerts", h.authed(h.alerts))
	mux.HandleFunc("GET /config", h.authed(h.config))
	mux.HandleFunc("GET /windows", h.authed(h.windows))
}

// choice is an option of a filter's select.
type choice struct{ Value, Label string }

// choices are an enum's values as a select's options (its text form, the
// CLI's, as the value).
func choices[E enumtext.Enum]() []choice {
	var out []choice
	for _, n := range enumtext.Names[E]() {
		out = append(out, choice{Value: n, Label: strings.ReplaceAll(n, "_", " ")})
	}
	return out
}

// enumWord is an enum value as a page shows it ("dead lettered"), and as a
// CSS class ("dead-lettered").
func enumWord[E enumtext.Enum](v E) (word, class string) {
	w := enumtext.Words(any(v).(protoreflect.Enum)) // generated enums are protoreflect.Enums
	return w, strings.ReplaceAll(w, " ", "-")
}

// ---- notifications ----

// notificationRow is a notification as the list shows it.
type notificationRow struct {
	ID, GroupID, Receiver, ReceiverKind, Reason, Subject string
	Status, StatusClass                                  string
	Attempts                                             uint32
	LastError, Decided, Delivered, NextAttempt           string
	MutedBy                                              []string
	Episodes                                             []*notifyv1.EpisodeStatus
}

// notifications lists the notifier's notifications, newest first, a page at
// a time, by receiver and delivery status; and the configured receivers,
// their credentials as references (ListNotifications, ListReceivers).
func (h *Handler) notifications(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	req := &notifyv1.ListNotificationsRequest{Receiver: strings.TrimSpace(q.Get("receiver")), Episode: strings.TrimSpace(q.Get("episode")),
		PageSize: 50, PageToken: q.Get("page")}
	if st := strings.TrimSpace(q.Get("status")); st != "" {
		v, ok := enumtext.Parse[notifyv1.DeliveryStatus](strings.ToLower(strings.NewReplacer(" ", "_", "-", "_").Replace(st)))
		if !ok {
			h.fail(w, r, s, http.StatusBadRequest, fmt.Sprintf("status %q is not a delivery status (%s)", st,
				strings.Join(enumtext.Names[notifyv1.DeliveryStatus](), ", ")))
			return
		}
		req.Status = v
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	c := notifyv1.NewNotifyServiceClient(h.opts.Conn)
	resp, err := c.ListNotifications(ctx, req)
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	recv, err := c.ListReceivers(ctx, &notifyv1.ListReceiversRequest{})
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	silences, err := c.ListSilences(ctx, &notifyv1.ListSilencesRequest{})
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	rows := make([]notificationRow, 0, len(resp.GetNotifications()))
	for _, n := range resp.GetNotifications() {
		row := notificationRow{ID: n.GetId(), GroupID: n.GetGroupId(), Receiver: n.GetReceiver(), ReceiverKind: n.GetReceiverKind(), Reason: n.GetReason(),
			Subject: n.GetSubject(), Attempts: n.GetAttempts(), LastError: n.GetLastError(), Decided: stamp(n.GetDecidedAt()),
			Delivered: stamp(n.GetDeliveredAt()), Episodes: n.GetEpisodes(), MutedBy: n.GetMutedBy()}
		row.Status, row.StatusClass = enumWord(n.GetStatus())
		if n.GetStatus() == notifyv1.DeliveryStatus_DELIVERY_STATUS_RETRYING {
			row.NextAttempt = stamp(n.GetNextAttemptAt())
		}
		rows = append(rows, row)
	}
	h.render(w, r, s, http.StatusOK, "notifications", map[string]any{
		"Notifications": rows, "Total": resp.GetTotal(), "Next": nextPage(r, "/notifications", resp.GetNextPageToken()),
		"Receiver": req.Receiver, "Episode": req.Episode, "Status": enumtext.Name(req.Status), "Statuses": choices[notifyv1.DeliveryStatus](),
		"Receivers": recv.GetReceivers(), "Silences": silences.GetSilences(), "Notice": q.Get("done"),
	})
}

// ---- alerts and incidents ----

// alertRow is an alert as the list shows it.
type alertRow struct {
	Rule                                       string
	RuleVersion                                uint64
	State, StateClass, Severity, SeverityClass string
	Labels                                     []string
	Value, Since, Fired, Resolved, Reason      string
	Notified                                   bool
}

// incidentRow is an open incident of the status page.
type incidentRow struct {
	ID, Name, Status, StatusClass, Impact, Started, Updated, Shortlink string
	Components                                                         []string
	Updates                                                            []updateRow
}

// updateRow is an update posted on an incident or a maintenance.
type updateRow struct{ At, Status, Body string }

func updateRows(us []*notifyv1.StatusUpdate) []updateRow {
	out := make([]updateRow, 0, len(us))
	for _, u := range us {
		out = append(out, updateRow{At: stamp(u.GetAt()), Status: strings.ReplaceAll(u.GetStatus(), "_", " "), Body: u.GetBody()})
	}
	return out
}

// alerts shows the monitor's alerts (pending and firing; resolved ones on
// request), with their labels and values, and the status page: its
// components, its open incidents with their updates, and the maintenance
// under way or planned (ListAlerts, GetStatusPage).
func (h *Handler) alerts(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	req := &monitorv1.ListAlertsRequest{IncludeResolved: q.Get("resolved") != ""}
	if sev := strings.TrimSpace(q.Get("severity")); sev != "" {
		v, ok := enumtext.Parse[monitorv1.Severity](strings.ToLower(sev))
		if !ok {
			h.fail(w, r, s, http.StatusBadRequest, fmt.Sprintf("severity %q is not one of %s", sev, strings.Join(enumtext.Names[monitorv1.Severity](), ", ")))
			return
		}
		req.SeverityType = v
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	resp, err := monitorv1.NewMonitorServiceClient(h.opts.Conn).ListAlerts(ctx, req)
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	page, err := notifyv1.NewStatusServiceClient(h.opts.Conn).GetStatusPage(ctx, &notifyv1.GetStatusPageRequest{})
	noStatus := ""
	switch {
	case status.Code(err) == codes.Unimplemented:
		// The notifier serves its status page only with its HTTP endpoints
		// (--notifier-http-addr): the alerts are still worth showing.
		noStatus, page = status.Convert(err).Message(), &notifyv1.GetStatusPageResponse{}
	case err != nil:
		h.failRPC(w, r, s, err)
		return
	}
	alerts := make([]alertRow, 0, len(resp.GetAlerts()))
	for _, a := range resp.GetAlerts() {
		row := alertRow{Rule: a.GetRule(), RuleVersion: a.GetRuleVersion(), Labels: labelList(a.GetLabels()),
			Value: strconv.FormatFloat(a.GetValue(), 'g', -1, 64), Since: stamp(a.GetActiveSince()), Fired: stamp(a.GetFiredAt()),
			Resolved: stamp(a.GetResolvedAt()), Reason: a.GetReason(), Notified: a.GetNotified()}
		row.State, row.StateClass = enumWord(a.GetStateType())
		row.Severity, row.SeverityClass = enumWord(a.GetSeverityType())
		alerts = append(alerts, row)
	}
	incidents := make([]incidentRow, 0, len(page.GetIncidents()))
	for _, in := range page.GetIncidents() {
		row := incidentRow{ID: in.GetId(), Name: in.GetName(), Impact: enumtext.Name(in.GetImpact()), Started: stamp(in.GetStartedAt()),
			Updated: stamp(in.GetUpdatedAt()), Shortlink: in.GetShortlink(), Components: in.GetComponents(), Updates: updateRows(in.GetUpdates())}
		row.Status, row.StatusClass = enumWord(in.GetStatus())
		incidents = append(incidents, row)
	}
	type componentRow struct{ ID, Name, Status, StatusClass string }
	components := make([]componentRow, 0, len(page.GetComponents()))
	for _, c := range page.GetComponents() {
		row := componentRow{ID: c.GetId(), Name: c.GetName()}
		row.Status, row.StatusClass = enumWord(c.GetStatus())
		components = append(components, row)
	}
	type maintenanceRow struct {
		ID, Name, Status, StatusClass, From, Until string
		Components                                 []string
		Updates                                    []updateRow
	}
	maintenances := make([]maintenanceRow, 0, len(page.GetMaintenances()))
	for _, m := range page.GetMaintenances() {
		row := maintenanceRow{ID: m.GetId(), Name: m.GetName(), From: stamp(m.GetScheduledFor()), Until: stamp(m.GetScheduledUntil()),
			Components: m.GetComponents(), Updates: updateRows(m.GetUpdates())}
		row.Status, row.StatusClass = enumWord(m.GetStatus())
		maintenances = append(maintenances, row)
	}
	indicator, indicatorClass := enumWord(page.GetIndicator())
	h.render(w, r, s, http.StatusOK, "alerts", map[string]any{
		"Alerts": alerts, "Resolved": req.IncludeResolved, "Severity": enumtext.Name(req.SeverityType), "Severities": choices[monitorv1.Severity](),
		"Page": page, "Indicator": indicator, "IndicatorClass": indicatorClass, "PageUpdated": stamp(page.GetUpdatedAt()),
		"Components": components, "Incidents": incidents, "Maintenances": maintenances, "NoStatus": noStatus,
	})
}

// labelList is an alert's labels as name="value", sorted.
func labelList(labels map[string]string) []string {
	out := make([]string, 0, len(labels))
	for k, v := range labels {
		out = append(out, k+"="+strconv.Quote(v))
	}
	slices.Sort(out)
	return out
}

// ---- configuration ----

// configChangeRow is one difference between two documents.
type configChangeRow struct {
	Path, Kind, Sign, Old, New string
}

func configChangeRows(cs []*configv1.ConfigChange) []configChangeRow {
	out := make([]configChangeRow, 0, len(cs))
	for _, c := range cs {
		row := configChangeRow{Path: c.GetPath(), Kind: enumtext.Name(c.GetKind()), Old: jsonText(c.GetOld()), New: jsonText(c.GetNew())}
		switch c.GetKind() {
		case configv1.ConfigChangeKind_CONFIG_CHANGE_KIND_ADDED:
			row.Sign = "+"
		case configv1.ConfigChangeKind_CONFIG_CHANGE_KIND_REMOVED:
			row.Sign = "-"
		default:
			row.Sign = "~"
		}
		out = append(out, row)
	}
	return out
}

// jsonText is a value as JSON ("" for none); the page escapes it.
func jsonText(v *structpb.Value) string {
	if v == nil {
		return ""
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v.AsInterface()); err != nil {
		return v.String()
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// indentJSON is a JSON document indented (as it is when it is not JSON).
func indentJSON(doc string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(doc), "", "  "); err != nil {
		return doc
	}
	return b.String()
}

// configSource says how a version or a proposal was made: set, patch, or promotion from ENV@V.
func configSource(src configv1.ConfigSource, fromEnv string, fromVersion uint64) string {
	s := enumtext.Name(src)
	if s == "" {
		return "—"
	}
	if src == configv1.ConfigSource_CONFIG_SOURCE_PROMOTION && fromEnv != "" {
		s += fmt.Sprintf(" from %s@%d", fromEnv, fromVersion)
	}
	return s
}

// config shows an environment's configuration (`to`, default production):
// its current version and the proposal pending there; with `from`, the
// differences from that environment's current version to this one's, as
// `floe config diff FROM TO` (GetConfig, DiffConfig).
func (h *Handler) config(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	from, to := strings.TrimSpace(q.Get("from")), strings.TrimSpace(q.Get("to"))
	if to == "" {
		to = "production"
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	c := configv1.NewConfigServiceClient(h.opts.Conn)
	data := map[string]any{"From": from, "To": to}
	got, err := c.GetConfig(ctx, &configv1.GetConfigRequest{Environment: to})
	switch {
	case status.Code(err) == codes.NotFound:
		// No version and nothing proposed: an empty environment, still compared below.
	case err != nil:
		h.failRPC(w, r, s, err)
		return
	default:
		if v := got.GetConfig(); v != nil {
			data["Config"] = v
			data["Document"] = indentJSON(v.GetDocument())
			data["Source"] = configSource(v.GetSource(), v.GetFromEnvironment(), v.GetFromVersion())
			data["Approvers"] = strings.Join(v.GetApprovers(), ", ")
		}
		if p := got.GetPending(); p != nil {
			data["Pending"] = p
			data["PendingSource"] = configSource(p.GetSource(), p.GetFromEnvironment(), p.GetFromVersion())
			data["PendingChanges"] = configChangeRows(p.GetChanges())
		}
	}
	if from != "" {
		diff, err := c.DiffConfig(ctx, &configv1.DiffConfigRequest{From: &configv1.ConfigRef{Environment: from}, To: &configv1.ConfigRef{Environment: to}})
		if err != nil {
			h.failRPC(w, r, s, err)
			return
		}
		data["Diff"] = configChangeRows(diff.GetChanges())
		for key, v := range map[string]*configv1.ConfigVersion{"DiffFrom": diff.GetFrom(), "DiffTo": diff.GetTo()} {
			if v.GetVersion() != 0 { // else the side has no configuration, compared as empty
				data[key] = v
			}
		}
	}
	h.render(w, r, s, http.StatusOK, "config", data)
}

// ---- windows and freezes ----

// windows shows the change calendar: each environment's state now, the
// deployment windows, the freezes and their overrides (ListWindows).
func (h *Handler) windows(w http.ResponseWriter, r *http.Request, s *session) {
	env := strings.TrimSpace(r.URL.Query().Get("env"))
	ctx, cancel := s.ctx(r)
	defer cancel()
	resp, err := changev1.NewWindowServiceClient(h.opts.Conn).ListWindows(ctx, &changev1.ListWindowsRequest{Environment: env})
	if err != nil {
		h.failRPC(w, r, s, err)
		return
	}
	type envRow struct{ Environment, State, StateClass, When, Verdict string }
	envs := make([]envRow, 0, len(resp.GetEnvironments()))
	for _, e := range resp.GetEnvironments() {
		row := envRow{Environment: e.GetEnvironment(), Verdict: e.GetVerdict()}
		switch {
		case e.GetOpen() && e.GetWindowId() == "":
			row.State, row.When = "open", "no windows"
		case e.GetOpen():
			row.State, row.When = "open", fmt.Sprintf("until %s (window %s)", stamp(e.GetWindowEnd()), e.GetWindowId())
		case e.GetFrozenBy() != "":
			row.State, row.When = "frozen", fmt.Sprintf("until %s (freeze %s)", stamp(e.GetFrozenUntil()), e.GetFrozenBy())
		case e.GetNextOpen() == nil:
			row.State, row.When = "closed", "no window ahead"
		default:
			row.State, row.When = "closed", "next open "+stamp(e.GetNextOpen())
		}
		row.StateClass = row.State
		envs = append(envs, row)
	}
	type windowRow struct {
		ID, Environment, Name, When, Duration, TimeZone, Valid, CreatedBy string
		Maintenance                                                       bool
	}
	windows := make([]windowRow, 0, len(resp.GetWindows()))
	for _, win := range resp.GetWindows() {
		windows = append(windows, windowRow{ID: win.GetId(), Environment: win.GetEnvironment(), Name: win.GetName(),
			When: recurrenceText(win.GetRecurrence()), Duration: minutesText(win.GetDurationMinutes()), TimeZone: orDash(win.GetTimeZone()),
			Valid: validityText(win.GetValidFrom(), win.GetValidUntil()), CreatedBy: win.GetCreatedBy(), Maintenance: win.GetMaintenance()})
	}
	type freezeRow struct{ ID, Environments, When, CreatedBy, Created, Reason string }
	freezes := make([]freezeRow, 0, len(resp.GetFreezes()))
	for _, f := range resp.GetFreezes() {
		envs := "all"
		if len(f.GetEnvironments()) > 0 {
			envs = strings.Join(f.GetEnvironments(), ", ")
		}
		freezes = append(freezes, freezeRow{ID: f.GetId(), Environments: envs, When: freezeWhen(f), CreatedBy: f.GetCreatedBy(),
			Created: stamp(f.GetCreatedAt()), Reason: f.GetReason()})
	}
	type overrideRow struct{ FreezeID, Environment, For, By, Roles, Granted, Expires, Reason string }
	overrides := make([]overrideRow, 0, len(resp.GetOverrides()))
	for _, o := range resp.GetOverrides() {
		overrides = append(overrides, overrideRow{FreezeID: o.GetFreezeId(), Environment: o.GetEnvironment(), For: o.GetRequestedBy(),
			By: o.GetOverriddenBy(), Roles: strings.Join(o.GetRoles(), ", "), Granted: stamp(o.GetGrantedAt()), Expires: orDash(stamp(o.GetExpiresAt())),
			Reason: o.GetReason()})
	}
	h.render(w, r, s, http.StatusOK, "windows", map[string]any{"Env": env, "Now": h.opts.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"Environments": envs, "Windows": windows, "Freezes": freezes, "Overrides": overrides})
}

// recurrenceText is when a window or a recurring freeze starts: a cron
// expression, or days at a time of day.
func recurrenceText(r *changev1.Recurrence) string {
	if r.GetCron() != "" {
		return "cron " + r.GetCron()
	}
	if len(r.GetDays()) == 0 && r.GetAt() == "" {
		return "—"
	}
	return strings.Join(r.GetDays(), ", ") + " at " + r.GetAt()
}

// freezeWhen is a freeze's period: one-off or recurring.
func freezeWhen(f *changev1.Freeze) string {
	if f.GetRecurrence() != nil {
		s := fmt.Sprintf("%s for %s (%s)", recurrenceText(f.GetRecurrence()), minutesText(f.GetDurationMinutes()), orDash(f.GetTimeZone()))
		if v := validityText(f.GetValidFrom(), f.GetValidUntil()); v != "—" {
			s += ", " + v
		}
		return s
	}
	return stamp(f.GetStart()) + " to " + stamp(f.GetEnd())
}

// validityText is a definition's validity period ("—" when unbounded).
func validityText(from, until *timestamppb.Timestamp) string {
	switch {
	case from == nil && until == nil:
		return "—"
	case until == nil:
		return "from " + stamp(from)
	case from == nil:
		return "until " + stamp(until)
	}
	return stamp(from) + " to " + stamp(until)
}

// minutesText is a duration in minutes as Go writes it, without zero units ("1h30m", "2h").
func minutesText(m uint32) string {
	if m == 0 {
		return "—"
	}
	s := (time.Duration(m) * time.Minute).String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
