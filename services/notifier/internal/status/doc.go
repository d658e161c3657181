// Package status is the model of Floe's public status page (issue 16,
// "Status page"): components, incidents and their updates, scheduled
// maintenance, the page's top-level status and each component's 90-day
// uptime, with renderers for Atlassian Statuspage's public JSON API v2 and
// a server-rendered HTML page.
//
// # Model
//
// [Page] is an aggregate. Its decide methods ([Page.AddComponent],
// [Page.CreateIncident], [Page.AddIncidentUpdate], [Page.ResolveIncident],
// [Page.SetComponentStatus], [Page.ScheduleMaintenance],
// [Page.StartMaintenance], [Page.CompleteMaintenance], …) take a command and
// the time and return typed [Change]s or an error from libs/errs; they
// never change the page. [Page.Apply] folds changes, the one path by which
// a page changes, for fresh decisions and stored ones alike; changes
// round-trip through JSON with [MarshalChange] and [UnmarshalChange]. The
// package has no clock, no I/O and no goroutines.
//
// Transitions: an incident moves freely between investigating, identified
// and monitoring; resolving it returns its components to operational (unless
// another open incident holds them); a resolved incident takes only a
// postmortem, after which it takes nothing. A maintenance goes scheduled →
// in progress (its components under maintenance) → verifying → completed
// (back to operational); anything else is refused with an
// *errs.PreconditionError.
//
// Impact, when not set by hand, follows Statuspage: the worst status an
// update gave a component (major outage → critical, partial outage → major,
// degraded → minor), never lowered by recovery. The top-level status is
// [OverallStatus]; uptime is [ComputeUptime] (major outage counts as down,
// partial outage as 30 % down, per day in the page's time zone).
//
// # Rendering
//
// [Page.View] copies the page at an instant. A [View] renders summary.json,
// status.json, components.json, incidents.json, incidents/unresolved.json,
// scheduled-maintenances.json and its upcoming/active variants with
// Statuspage's field names, and the HTML page ([View.RenderHTML]): no
// script, user text escaped by html/template, one inline style allowed by
// hash in [ContentSecurityPolicy]. [NewHandler] serves both, read-only.
//
// # Not here
//
// Storage of the changes, the gRPC StatusService, opening incidents from
// alerts and rollbacks, subscriptions and notifications, and the per-month
// /uptime history page.
package status
