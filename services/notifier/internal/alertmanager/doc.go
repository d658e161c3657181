// Package alertmanager decodes and validates the body of a Prometheus
// Alertmanager webhook (webhook_config), so that an existing
// Prometheus/Alertmanager stack can feed Floe's incidents and status page
// (issue 16, "Inputs from outside").
//
// # The payload
//
// Alertmanager POSTs version "4" of its webhook message:
//
//	{"version": "4", "receiver": "…", "status": "firing"|"resolved",
//	 "groupKey": "…", "truncatedAlerts": 0, "externalURL": "http://…",
//	 "groupLabels": {…}, "commonLabels": {…}, "commonAnnotations": {…},
//	 "alerts": [{"status": "firing"|"resolved", "labels": {…},
//	   "annotations": {…}, "startsAt": RFC 3339, "endsAt": RFC 3339 or
//	   "0001-01-01T00:00:00Z", "generatorURL": "http://…",
//	   "fingerprint": "1a30ba71cca2921f"}]}
//
// [Decode] reads at most [MaxBody] bytes and returns a [Notification] of
// typed [Alert]s, each with a [Severity] mapped from its "severity" label
// (critical/page/… → SeverityCritical, warning/error/… → SeverityWarning,
// info/none/… → SeverityInfo, else SeverityUnknown with the raw value kept).
// Every problem is reported at once in an *errs.InvalidArgumentError whose
// field is a JSON path ("alerts[2].startsAt"); an oversized body is an
// *errs.TooLargeError. Unknown fields are ignored, so Grafana's
// Alertmanager-compatible payloads (which add orgId, values, silenceURL, …)
// decode too. Decoding never panics, whatever the bytes (see the fuzz test).
//
// # What it does not do
//
// Authentication of the caller (Alertmanager's http_config sends basic auth
// or a bearer token; the HTTP layer checks it), deciding what an alert does
// (open an incident for a firing critical alert, resolve it when the alert
// resolves: that is the notifier's routing), and deduplication across
// retries (the group key and fingerprints are carried for it).
package alertmanager
