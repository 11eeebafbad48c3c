{{/* Names derive from the release, so two releases in one namespace never collide. */}}
{{- define "fastapi.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "fastapi.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "fastapi.labels" -}}
{{ include "fastapi.labelsOf" (dict "root" . "version" .Values.image.tag) }}
{{- end -}}

{{/* The common labels with a given app.kubernetes.io/version (a colour's own image tag). */}}
{{- define "fastapi.labelsOf" -}}
{{- $root := .root -}}
{{ include "fastapi.selectorLabels" $root }}
app.kubernetes.io/version: {{ .version | quote }}
app.kubernetes.io/component: model-server
app.kubernetes.io/part-of: mlops-serving
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "fastapi.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "fastapi.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* One colour of a blueGreen rollout as YAML (name, colour, tag, replicas, env): its own image
tag, its own alias served in blue_green mode, and the preview Service it mirrors to. The pods'
environment does not depend on which colour is active, so a switch restarts nothing. */}}
{{- define "fastapi.colour" -}}
{{- $root := .root -}}
{{- $rollout := $root.Values.rollout -}}
{{- $spec := index $rollout.colors .colour -}}
{{- $full := include "fastapi.fullname" $root -}}
{{- $own := dict "DEFAULT_ALIAS" $spec.alias "ALIAS_SELECTION_MODE" "blue_green" "APP_COLOR" .colour "APP_VERSION" $spec.tag "PREVIEW_URL" (printf "http://%s-preview:%v" $full $root.Values.service.port) "PREVIEW_SHADOW_PERCENT" (toString $rollout.shadowPercent) -}}
name: {{ printf "%s-%s" $full .colour | quote }}
colour: {{ .colour | quote }}
tag: {{ $spec.tag | quote }}
replicas: {{ ternary $root.Values.replicaCount $rollout.idleReplicas (eq .colour $rollout.active) }}
env:
  {{- merge $own (deepCopy $root.Values.env) | toYaml | nindent 2 }}
{{- end -}}

{{/* The colour a Service selects: `active` for the live Service, the other for the preview. */}}
{{- define "fastapi.otherColour" -}}
{{- ternary "green" "blue" (eq . "blue") -}}
{{- end -}}

{{/* The HTTPRoutes (name, host, service): the app's, and with blueGreen and
rollout.previewHost the preview one. */}}
{{- define "fastapi.routes" -}}
{{- $full := include "fastapi.fullname" . -}}
{{- $g := .Values.gatewayApi -}}
{{- $section := $g.parentRef.sectionName -}}
{{- $routes := list (dict "name" $full "host" $g.host "service" $full "sectionName" $section) -}}
{{- if and (eq .Values.rollout.strategy "blueGreen") .Values.rollout.previewHost -}}
{{- /* a created Gateway has a listener of its own for the preview host */ -}}
{{- $previewSection := ternary (printf "%s-preview" $section) $section $g.gateway.create -}}
{{- $routes = append $routes (dict "name" (printf "%s-preview" $full) "host" .Values.rollout.previewHost "service" (printf "%s-preview" $full) "sectionName" $previewSection) -}}
{{- end -}}
{{- toYaml $routes -}}
{{- end -}}
