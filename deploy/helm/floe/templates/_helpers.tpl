{{/*
The eight Floe services, in the order their objects are written.
*/}}
{{- define "floe.serviceNames" -}}
release gate flag deployer monitor notifier change audit
{{- end }}

{{/*
Prefix of every object's name: the release name when it already says "floe"
(release "floe" gives floe-nats, floe-release, …), else <release>-floe.
*/}}
{{- define "floe.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 40 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* The name of a component's objects: (dict "root" $ "name" "release"). */}}
{{- define "floe.componentName" -}}
{{- printf "%s-%s" (include "floe.fullname" .root) .name }}
{{- end }}

{{/* Selector labels of a component: (dict "root" $ "name" "nats"). */}}
{{- define "floe.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end }}

{{/* Labels of every object of a component. */}}
{{- define "floe.labels" -}}
{{ include "floe.selectorLabels" . }}
app.kubernetes.io/part-of: floe
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end }}

{{/* Labels of the chart's shared objects (no component). */}}
{{- define "floe.commonLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: floe
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "floe.serviceAccountName" -}}
{{- .Values.serviceAccount.name | default (include "floe.fullname" .) }}
{{- end }}

{{/* NATS: the StatefulSet, its client Service and its headless Service. */}}
{{- define "floe.natsName" -}}
{{- printf "%s-nats" (include "floe.fullname" .) }}
{{- end }}
{{- define "floe.natsHeadless" -}}
{{- printf "%s-nats-headless" (include "floe.fullname" .) }}
{{- end }}

{{/* The NATS URL without credentials: nats://floe-nats:4222 (tls:// with TLS). */}}
{{- define "floe.natsURL" -}}
{{- printf "%s://%s:4222" (ternary "tls" "nats" .Values.tls.nats.enabled) (include "floe.natsName" .) }}
{{- end }}

{{/* A service's NATS URL with its user and the password from $(NATS_PASSWORD). */}}
{{- define "floe.serviceNatsURL" -}}
{{- printf "%s://floe-%s:$(NATS_PASSWORD)@%s:4222" (ternary "tls" "nats" .root.Values.tls.nats.enabled) .name (include "floe.natsName" .root) }}
{{- end }}

{{/* The env var holding a NATS user's password, as deploy/nats/nats-server.conf names it. */}}
{{- define "floe.natsPasswordKey" -}}
{{- printf "FLOE_%s_NATS_PASSWORD" (upper .) }}
{{- end }}

{{/* Pod selector (matchExpressions) of the eight service pods. */}}
{{- define "floe.servicePodsSelector" -}}
matchLabels:
  app.kubernetes.io/name: {{ .Chart.Name }}
  app.kubernetes.io/instance: {{ .Release.Name }}
matchExpressions:
  - key: app.kubernetes.io/component
    operator: In
    values: [{{ include "floe.serviceNames" . | splitList " " | join ", " }}]
{{- end }}

{{/*
The console's --console-routes: each proto package to the Service of the
Floe service that serves it (the release service, --console-server, takes
the rest). A test in deploy/ checks it against the services' source.
*/}}
{{- define "floe.consoleRoutes" -}}
{{- $pkgs := dict "audit" (list "floe.audit.v1") "change" (list "floe.change.v1") "deployer" (list "floe.deploy.v1") "flag" (list "floe.config.v1" "floe.flag.v1") "gate" (list "floe.gate.v1") "monitor" (list "floe.monitor.v1") "notifier" (list "floe.notify.v1") }}
{{- $routes := list }}
{{- range $svc := keys $pkgs | sortAlpha }}
{{- range $pkg := index $pkgs $svc }}
{{- $routes = append $routes (printf "%s=%s:7400" $pkg (include "floe.componentName" (dict "root" $ "name" $svc))) }}
{{- end }}
{{- end }}
{{- join "," $routes }}
{{- end }}

{{/*
Flags of a process that calls other Floe services' gRPC (the console, the
notifier): TLS when tls.grpc.enabled, verified with the CA certificate of
the gRPC TLS Secret (tls.grpc.ca, mounted as /etc/floe/grpc-tls/ca.crt) when
set, else the system's roots.
*/}}
{{- define "floe.peerTLSArgs" -}}
{{- if .Values.tls.grpc.enabled }}
- --peer-tls
{{- if .Values.tls.grpc.ca }}
- --peer-tls-ca=/etc/floe/grpc-tls/ca.crt
{{- end }}
{{- end }}
{{- end }}
