package alertmanager

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/penguinmails/floe/libs/errs"
)

// Limits on what Decode accepts.
const (
	MaxBody        = 4 << 20 // bytes
	MaxAlerts      = 1_000
	MaxLabels      = 100 // per label set
	MaxLabelName   = 256
	MaxLabelValue  = 16 << 10
	MaxAnnotations = 100
)

// Version is the webhook payload version Alertmanager sends, and the only one
// Decode accepts.
const Version = "4"

// Status is whether an alert (or a group of alerts) fires or has resolved.
type Status string

// The two statuses.
const (
	Firing   Status = "firing"
	Resolved Status = "resolved"
)

// Severity is an alert's severity, from its "severity" label.
type Severity int

// The severities, least first.
const (
	SeverityUnknown Severity = iota // no or unrecognised severity label
	SeverityInfo
	SeverityWarning
	SeverityCritical
)

func (s Severity) String() string {
	switch s {
	case SeverityInfo:
		return "info"
	case SeverityWarning:
		return "warning"
	case SeverityCritical:
		return "critical"
	}
	return "unknown"
}

// severities maps "severity" label values (lower-cased) to severities: the
// values of the Prometheus community mixins (critical, warning, info, none)
// and the usual synonyms of paging tools. A value not here is
// SeverityUnknown, and the caller decides (the raw value stays in
// Alert.SeverityLabel).
var severities = map[string]Severity{
	"critical": SeverityCritical, "crit": SeverityCritical, "page": SeverityCritical, "pager": SeverityCritical,
	"emergency": SeverityCritical, "emerg": SeverityCritical, "fatal": SeverityCritical, "alert": SeverityCritical,
	"p1": SeverityCritical, "sev1": SeverityCritical, "sev-1": SeverityCritical,
	"warning": SeverityWarning, "warn": SeverityWarning, "error": SeverityWarning, "err": SeverityWarning,
	"major": SeverityWarning, "high": SeverityWarning, "minor": SeverityWarning, "medium": SeverityWarning,
	"p2": SeverityWarning, "p3": SeverityWarning, "sev2": SeverityWarning, "sev3": SeverityWarning,
	"info": SeverityInfo, "informational": SeverityInfo, "notice": SeverityInfo, "low": SeverityInfo,
	"none": SeverityInfo, "debug": SeverityInfo, "p4": SeverityInfo, "p5": SeverityInfo,
}

// SeverityOf maps a severity label value to a Severity.
func SeverityOf(label string) Severity {
	return severities[strings.ToLower(strings.TrimSpace(label))]
}

// Notification is one validated webhook call: a group of alerts.
type Notification struct {
	Receiver          string
	Status            Status
	Alerts            []Alert
	GroupLabels       map[string]string
	CommonLabels      map[string]string
	CommonAnnotations map[string]string
	ExternalURL       string
	GroupKey          string
	// TruncatedAlerts is how many alerts Alertmanager left out (max_alerts).
	TruncatedAlerts int
}

// Alert is one validated alert.
type Alert struct {
	Status Status
	// Name is the "alertname" label.
	Name string
	// Severity comes from the "severity" label; SeverityLabel is its raw value.
	Severity      Severity
	SeverityLabel string
	Labels        map[string]string
	Annotations   map[string]string
	StartsAt      time.Time
	// EndsAt is zero when Alertmanager sent none (Go's zero time,
	// "0001-01-01T00:00:00Z"), i.e. the alert is firing with no known end.
	EndsAt       time.Time
	GeneratorURL string
	// Fingerprint identifies the alert's label set; stable across calls.
	Fingerprint string
}

// Summary is the "summary" annotation, else the alert's name.
func (a Alert) Summary() string {
	if s := a.Annotations["summary"]; s != "" {
		return s
	}
	return a.Name
}

// Firing is the alerts of n still firing.
func (n *Notification) Firing() []Alert { return n.only(Firing) }

// ResolvedAlerts is the alerts of n that resolved.
func (n *Notification) ResolvedAlerts() []Alert { return n.only(Resolved) }

func (n *Notification) only(s Status) []Alert {
	var out []Alert
	for _, a := range n.Alerts {
		if a.Status == s {
			out = append(out, a)
		}
	}
	return out
}

// wire is the payload as Alertmanager sends it (notify/webhook: Message,
// template.Data). Times are strings here so that a bad one is reported with
// its path; unknown fields (Grafana adds orgId, values, silenceURL, …) are
// ignored.
type wire struct {
	Version           *string           `json:"version"`
	GroupKey          *string           `json:"groupKey"`
	TruncatedAlerts   *int              `json:"truncatedAlerts"`
	Receiver          *string           `json:"receiver"`
	Status            *string           `json:"status"`
	Alerts            []wireAlert       `json:"alerts"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       *string           `json:"externalURL"`
}

type wireAlert struct {
	Status       *string           `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     *string           `json:"startsAt"`
	EndsAt       *string           `json:"endsAt"`
	GeneratorURL *string           `json:"generatorURL"`
	Fingerprint  *string           `json:"fingerprint"`
}

// Decode reads one webhook body (at most MaxBody bytes) and validates it.
// A body that is too large is an *errs.TooLargeError; anything else wrong is
// an *errs.InvalidArgumentError whose fields are JSON paths
// ("alerts[3].startsAt"), listing every problem found.
func Decode(r io.Reader) (*Notification, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read alertmanager payload: %w", err)
	}
	return Parse(body)
}

// Parse validates one webhook body; see Decode.
func Parse(body []byte) (*Notification, error) {
	if len(body) > MaxBody {
		return nil, &errs.TooLargeError{Field: "body", Size: len(body), Limit: MaxBody}
	}
	if !utf8.Valid(body) {
		// encoding/json would replace the bad bytes silently; refuse instead.
		return nil, errs.Invalid("body", "is not valid UTF-8")
	}
	var w wire
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&w); err != nil {
		return nil, errs.Invalid(jsonErrorPath(err), "%s", jsonErrorText(err))
	}
	if dec.More() {
		return nil, errs.Invalid("body", "trailing data after the JSON object")
	}
	var v errs.Violations
	n := &Notification{}
	switch {
	case w.Version == nil:
		v.Add("version", "is required")
	case *w.Version != Version:
		v.Add("version", "%q: only version %q is understood", *w.Version, Version)
	}
	n.Receiver = str(w.Receiver)
	checkText(&v, "receiver", n.Receiver, MaxLabelValue)
	n.GroupKey = str(w.GroupKey)
	checkText(&v, "groupKey", n.GroupKey, MaxLabelValue)
	n.Status = checkStatus(&v, "status", w.Status)
	if w.TruncatedAlerts != nil {
		if *w.TruncatedAlerts < 0 {
			v.Add("truncatedAlerts", "is negative")
		}
		n.TruncatedAlerts = *w.TruncatedAlerts
	}
	n.ExternalURL = str(w.ExternalURL)
	checkURL(&v, "externalURL", n.ExternalURL)
	n.GroupLabels = checkLabels(&v, "groupLabels", w.GroupLabels, MaxLabels)
	n.CommonLabels = checkLabels(&v, "commonLabels", w.CommonLabels, MaxLabels)
	n.CommonAnnotations = checkLabels(&v, "commonAnnotations", w.CommonAnnotations, MaxAnnotations)
	switch {
	case len(w.Alerts) == 0:
		v.Add("alerts", "is empty: a notification carries at least one alert")
	case len(w.Alerts) > MaxAlerts:
		v.Add("alerts", "%d alerts, over the limit of %d", len(w.Alerts), MaxAlerts)
	default:
		for i, wa := range w.Alerts {
			a, ok := checkAlert(&v, fmt.Sprintf("alerts[%d]", i), wa)
			if ok {
				n.Alerts = append(n.Alerts, a)
			}
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	return n, nil
}

func checkAlert(v *errs.Violations, path string, w wireAlert) (Alert, bool) {
	before := v.Len()
	a := Alert{Status: checkStatus(v, path+".status", w.Status)}
	a.Labels = checkLabels(v, path+".labels", w.Labels, MaxLabels)
	if len(w.Labels) == 0 {
		v.Add(path+".labels", "is empty: an alert is identified by its labels")
	}
	a.Name = a.Labels["alertname"]
	a.SeverityLabel = a.Labels["severity"]
	a.Severity = SeverityOf(a.SeverityLabel)
	a.Annotations = checkLabels(v, path+".annotations", w.Annotations, MaxAnnotations)
	a.StartsAt = checkTime(v, path+".startsAt", w.StartsAt, true)
	a.EndsAt = checkTime(v, path+".endsAt", w.EndsAt, false)
	if !a.StartsAt.IsZero() && !a.EndsAt.IsZero() && a.EndsAt.Before(a.StartsAt) {
		v.Add(path+".endsAt", "is before startsAt")
	}
	if a.Status == Resolved && w.EndsAt != nil && a.EndsAt.IsZero() && v.Len() == before {
		v.Add(path+".endsAt", "a resolved alert has an end")
	}
	a.GeneratorURL = str(w.GeneratorURL)
	checkURL(v, path+".generatorURL", a.GeneratorURL)
	a.Fingerprint = str(w.Fingerprint)
	if a.Fingerprint != "" && !isHex(a.Fingerprint) {
		v.Add(path+".fingerprint", "%q is not a hexadecimal fingerprint", clip(a.Fingerprint))
	}
	return a, v.Len() == before
}

func checkStatus(v *errs.Violations, path string, s *string) Status {
	switch {
	case s == nil:
		v.Add(path, "is required")
	case Status(*s) == Firing || Status(*s) == Resolved:
		return Status(*s)
	default:
		v.Add(path, "%q is neither firing nor resolved", clip(*s))
	}
	return ""
}

// checkTime parses an RFC 3339 time; Go's zero time (Alertmanager's "no
// end") is zero.
func checkTime(v *errs.Violations, path string, s *string, required bool) time.Time {
	if s == nil || *s == "" {
		if required {
			v.Add(path, "is required")
		}
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		v.Add(path, "%q is not an RFC 3339 time", clip(*s))
		return time.Time{}
	}
	if t.Year() <= 1 {
		if required {
			v.Add(path, "is the zero time")
		}
		return time.Time{}
	}
	return t
}

func checkLabels(v *errs.Violations, path string, m map[string]string, limit int) map[string]string {
	if len(m) > limit {
		v.Add(path, "%d entries, over the limit of %d", len(m), limit)
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, len(m))
	for _, k := range keys {
		field := fmt.Sprintf("%s[%q]", path, clip(k))
		switch {
		case k == "":
			v.Add(path, "has an empty name")
		case len(k) > MaxLabelName:
			v.Add(field, "name is %d bytes, over the limit of %d", len(k), MaxLabelName)
		case !utf8.ValidString(k):
			v.Add(field, "name is not valid UTF-8")
		case len(m[k]) > MaxLabelValue:
			v.Add(field, "value is %d bytes, over the limit of %d", len(m[k]), MaxLabelValue)
		case !utf8.ValidString(m[k]):
			v.Add(field, "value is not valid UTF-8")
		default:
			out[k] = m[k]
		}
	}
	return out
}

func checkText(v *errs.Violations, path, s string, limit int) {
	switch {
	case len(s) > limit:
		v.Add(path, "is %d bytes, over the limit of %d", len(s), limit)
	case !utf8.ValidString(s):
		v.Add(path, "is not valid UTF-8")
	}
}

func checkURL(v *errs.Violations, path, s string) {
	if s == "" {
		return
	}
	if len(s) > MaxLabelValue {
		v.Add(path, "is %d bytes, over the limit of %d", len(s), MaxLabelValue)
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.Add(path, "%q is not an absolute http(s) URL", clip(s))
	}
}

func isHex(s string) bool {
	if len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// clip shortens a value quoted back in an error.
func clip(s string) string {
	if len(s) <= 64 {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ToValidUTF8(s[:64], "\uFFFD") + "…"
}

// jsonErrorPath is the JSON path of a decoding error, "body" for the document.
func jsonErrorPath(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return te.Field
	}
	return "body"
}

func jsonErrorText(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("is a JSON %s, want %s", te.Value, te.Type)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, se.Error())
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "truncated or empty JSON"
	}
	return "malformed JSON: " + err.Error()
}
