package render

// The default templates, used for every name a receiver's set does not
// hold and whenever a user template fails. TEMPLATES.md quotes them (a test
// keeps the copies equal). They show at most defaultEpisodes episodes and
// cut long values, so that a large group still fits MaxOutputBytes; the
// exception is a release's notes (the notes annotation, at most
// MaxValueBytes), shown whole after the episode's details in place of its
// description, line breaks kept (the HTML in a <pre>, escaped): they are
// what the message is for, and a group holds one release's notes, or a
// few, unless a route groups many.
const (
	defaultSubject = `[{{ .Marker }}] {{ with .Scope }}{{ . }}: {{ end }}{{ .Title }}`

	defaultText = `{{ upper .Severity }} · {{ .Reason }} · {{ timeFormat "2006-01-02 15:04 MST" .Time }}
{{- range .Episodes.First 20 }}

[{{ .Marker }}] {{ .Title }}
{{ .Severity }}{{ with .Environment }} · {{ . }}{{ end }}{{ with .Product }} · {{ . }}{{ end }} ·
{{- if eq .Status "resolved" }} lasted {{ duration .Since .Time }} · resolved {{ timeFormat "2006-01-02 15:04 MST" .Time }}
{{- else if .Final }} lasted {{ duration .Since .Time }} · ended {{ timeFormat "2006-01-02 15:04 MST" .Time }}
{{- else if eq .Status "notice" }} at {{ timeFormat "2006-01-02 15:04 MST" .Time }}
{{- else }} since {{ since .Since }}{{ end }}
{{- if not .Annotations.notes }}{{ with .Annotations.description }}
{{ truncate 1000 . }}{{ end }}{{ end }}
{{- with .Annotations.reason }}
Reason: {{ truncate 500 . }}{{ end }}
{{- with .Labels.Extra.SortedPairs }}
{{ range $i, $p := . }}{{ if $i }} · {{ end }}{{ $p.Name }}={{ truncate 200 $p.Value }}{{ end }}{{ end }}
{{- with .URL }}
Details: {{ . }}{{ end }}
{{- with .Annotations.notes }}

{{ . }}{{ end }}
{{- end }}
{{- with .Episodes.More 20 }}

… and {{ . }} more{{ end }}
{{- with .ExternalURL }}

Floe: {{ . }}{{ end }}
`

	defaultSMS = `[{{ .Marker }}] {{ with .Scope }}{{ . }}: {{ end }}{{ .Title }}
{{- range .Episodes.First 1 }}{{ with .Annotations.reason }} - {{ . }}{{ end }}{{ end }}`

	defaultHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width">
<title>[{{ .Marker }}] {{ with .Scope }}{{ . }}: {{ end }}{{ .Title }}</title>
</head>
<body style="margin:0;padding:16px;font-family:Helvetica,Arial,sans-serif;font-size:14px;color:#1f2328;background:#ffffff">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="max-width:640px;border-collapse:collapse">
<tr><td style="padding:12px 16px;border-left:6px solid {{ if eq .Status "resolved" }}#1a7f37{{ else if eq .Severity "critical" }}#cf222e{{ else if eq .Severity "warning" }}#9a6700{{ else }}#0969da{{ end }}">
<div style="font-size:12px;font-weight:bold;letter-spacing:1px">{{ .Marker }} · {{ upper .Severity }}</div>
<h1 style="margin:4px 0;font-size:18px">{{ with .Scope }}{{ . }}: {{ end }}{{ .Title }}</h1>
<div style="color:#59636e;font-size:12px">{{ .Reason }} · {{ timeFormat "2006-01-02 15:04 MST" .Time }}</div>
</td></tr>
{{- range .Episodes.First 20 }}
<tr><td style="padding:12px 16px;border-top:1px solid #d1d9e0">
<div><strong>[{{ .Marker }}] {{ .Title }}</strong></div>
<div style="color:#59636e;font-size:12px">{{ .Severity }}{{ with .Environment }} · {{ . }}{{ end }}{{ with .Product }} · {{ . }}{{ end }} ·
{{- if eq .Status "resolved" }} lasted {{ duration .Since .Time }} · resolved {{ timeFormat "2006-01-02 15:04 MST" .Time }}
{{- else if .Final }} lasted {{ duration .Since .Time }} · ended {{ timeFormat "2006-01-02 15:04 MST" .Time }}
{{- else if eq .Status "notice" }} at {{ timeFormat "2006-01-02 15:04 MST" .Time }}
{{- else }} since {{ since .Since }}{{ end }}</div>
{{- if not .Annotations.notes }}{{ with .Annotations.description }}
<p style="margin:8px 0;white-space:pre-wrap">{{ truncate 1000 . }}</p>{{ end }}{{ end }}
{{- with .Annotations.reason }}
<p style="margin:8px 0"><strong>Reason:</strong> {{ truncate 500 . }}</p>{{ end }}
{{- with .Labels.Extra.SortedPairs }}
<table role="presentation" cellpadding="0" cellspacing="0" style="font-size:12px">
{{- range . }}
<tr><td style="padding:2px 12px 2px 0;color:#59636e">{{ .Name }}</td><td style="padding:2px 0">{{ truncate 200 .Value }}</td></tr>
{{- end }}
</table>{{ end }}
{{- with .URL }}
<p style="margin:8px 0"><a href="{{ . }}">Details</a></p>{{ end }}
{{- with .Annotations.notes }}
<pre style="margin:12px 0 0;padding:12px;border:1px solid #d1d9e0;white-space:pre-wrap;word-wrap:break-word;font-family:Helvetica,Arial,sans-serif;font-size:14px;line-height:1.5">{{ . }}</pre>{{ end }}
</td></tr>
{{- end }}
{{- with .Episodes.More 20 }}
<tr><td style="padding:12px 16px;border-top:1px solid #d1d9e0">… and {{ . }} more</td></tr>{{ end }}
{{- with .ExternalURL }}
<tr><td style="padding:12px 16px;border-top:1px solid #d1d9e0"><a href="{{ . }}">Open Floe</a></td></tr>{{ end }}
</table>
</body>
</html>
`
)

// defaultEpisodes is how many episodes the defaults show (Slack blocks included).
const defaultEpisodes = 20

// defaults is the compiled default set.
var defaults = mustDefaults()

func mustDefaults() map[string]*compiled {
	out := map[string]*compiled{}
	for key, src := range map[string]string{
		KeySubject: defaultSubject, KeyText: defaultText, KeyHTML: defaultHTML, KeySMS: defaultSMS,
	} {
		c, err := compile("default", key, src)
		if err != nil {
			panic("render: default " + key + " template: " + err.Error())
		}
		out[key] = c
	}
	return out
}

// DefaultTemplates returns the default templates' sources by name, for
// `floe notify preview` to show what a user template would replace.
func DefaultTemplates() map[string]string {
	return map[string]string{
		KeySubject: defaultSubject, KeyText: defaultText, KeyHTML: defaultHTML, KeySMS: defaultSMS,
	}
}
