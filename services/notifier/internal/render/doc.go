// Package render turns a routing decision (routing.Notification) into the
// channel.Message a receiver of one kind (Slack, email, SMS, webhook) is
// sent, with default templates and users' own Go templates.
//
// Templates are executed with Data, a documented public contract in the
// manner of Alertmanager's notification data (TEMPLATES.md in the service
// describes every field, function and default). Beyond Alertmanager's
// firing and resolved, routing tells notices (told once, status notice)
// and final episodes (firing, Event.Final: ended with a problem, told
// once); the markers say which: a notice is [NOTICE], a final episode
// [FAILED] (the subject too when nothing else fires), never a FIRING count. Subject, text and SMS
// templates are text/template; the email HTML is html/template, which
// escapes every value for its context. Slack Block Kit JSON is built with
// encoding/json from escaped mrkdwn, never by pasting values into JSON, and
// cut to Slack's limits on rune and entity boundaries: everything shown
// comes from events (release titles, reasons, labels) and must not be able
// to mention @channel, forge a link or inject markup.
//
// User templates are compiled by Parse with a small set of functions and
// refused with the name and line of each problem. At execution they are
// bounded: output over MaxOutputBytes, more than MaxIterations range
// iterations or MaxExecTime are errors. A failing user template never
// loses a notification: Render falls back to the default for that part
// and returns a warning.
//
// Samples and Preview render realistic notifications for
// `floe notify preview`; the golden files under testdata are the same
// previews, regenerated with `go test -run TestGolden -update`.
package render
