// Package links renders the links the monitor puts on the events it records
// for people — TriggerFired, RollbackTriggered and the alert events — from
// URL templates in its config (links: {name: template}), so that a
// notification can say where to look: the query in the metric source's
// graph page, the deployment or the alert in a console, a runbook.
package links

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"text/template"
)

// Data is what a link template sees.
type Data struct {
	// Rule is the trigger's or the alert rule's name.
	Rule string
	// Query is the PromQL evaluated: a trigger's query as scoped to the
	// deployment, an alert rule's condition.
	Query string
	// The deployment's (triggers; empty for alerts).
	DeploymentID, ReleaseID, Environment, Version, App string
	// Series is an alert's series key, Labels its labels (empty for triggers).
	Series string
	Labels map[string]string
}

// sample is the data every template is tried with when parsed.
var sample = Data{Rule: "error_rate", Query: `sum(rate(http_requests_total{code=~"5.."}[1m]))`, DeploymentID: "rel-1-production-1",
	ReleaseID: "rel-1", Environment: "production", Version: "1.2.0", App: "web", Series: `{environment="production"}`,
	Labels: map[string]string{"environment": "production"}}

// Templates are parsed link templates, by name.
type Templates struct {
	byName map[string]*template.Template
}

// Parse checks and parses link templates: each a text/template (with
// urlquery, pathescape and queryescape) that renders, for sample data, an
// absolute http(s) URL. Every problem is reported at once.
func Parse(m map[string]string) (Templates, error) {
	t := Templates{byName: map[string]*template.Template{}}
	var problems []error
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if name == "" || strings.ContainsAny(name, " \t\n") {
			problems = append(problems, fmt.Errorf("links: %q is not a link name", name))
			continue
		}
		tm, err := template.New(name).Option("missingkey=error").Funcs(template.FuncMap{
			"pathescape": url.PathEscape, "queryescape": url.QueryEscape,
		}).Parse(m[name])
		if err != nil {
			problems = append(problems, fmt.Errorf("links.%s: %w", name, err))
			continue
		}
		if _, err := render(tm, sample); err != nil {
			problems = append(problems, fmt.Errorf("links.%s: %w", name, err))
			continue
		}
		t.byName[name] = tm
	}
	return t, errors.Join(problems...)
}

// Prometheus is the default link of a Prometheus metric source: the query in
// its graph page.
func Prometheus(base string) map[string]string {
	return map[string]string{"graph": strings.TrimRight(base, "/") + "/graph?g0.expr={{queryescape .Query}}&g0.tab=0"}
}

// Render is every link for d, by name (nil without templates). A template
// that fails for d (it names a label d lacks) is left out.
func (t Templates) Render(d Data) map[string]string {
	if len(t.byName) == 0 {
		return nil
	}
	out := make(map[string]string, len(t.byName))
	for name, tm := range t.byName {
		if u, err := render(tm, d); err == nil {
			out[name] = u
		}
	}
	return out
}

// render executes tm and checks that it is an absolute http(s) URL.
func render(tm *template.Template, d Data) (string, error) {
	var b strings.Builder
	if err := tm.Execute(&b, d); err != nil {
		return "", err
	}
	s := strings.TrimSpace(b.String())
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return s, nil
}
