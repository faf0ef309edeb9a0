{{/* Chart name. */}}
{{- define "cano.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name of the objects. */}}
{{- define "cano.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Selector labels. */}}
{{- define "cano.selectorLabels" -}}
app.kubernetes.io/name: {{ include "cano.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Common labels. */}}
{{- define "cano.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "cano.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* Name of the ServiceAccount. */}}
{{- define "cano.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "cano.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* "true" when custom workflows are mounted. */}}
{{- define "cano.customWorkflows" -}}
{{- if or .Values.customWorkflows.files .Values.customWorkflows.existingConfigMap }}true{{ end }}
{{- end }}

{{/* "true" when more than one replica can run, which needs leader election. */}}
{{- define "cano.multiReplica" -}}
{{- if or .Values.autoscaling.enabled (gt (int .Values.replicaCount) 1) }}true{{ end }}
{{- end }}

{{/*
The Cano config written to the ConfigMap: the config keys of the values, plus what the chart
decides (workflows.directory, delivery.state, leader election). Returned as YAML.
*/}}
{{- define "cano.config" -}}
{{- $keys := list "cluster" "server" "alertmanager" "workflows" "kubernetes" "delivery" "capabilities" "destinations" "routing" }}
{{- $config := dict }}
{{- range $key := $keys }}
{{- $value := index $.Values $key }}
{{- if or (kindIs "bool" $value) (kindIs "float64" $value) (kindIs "int64" $value) $value }}
{{- $_ := set $config $key (deepCopy $value) }}
{{- end }}
{{- end }}
{{- if include "cano.customWorkflows" . }}
{{- $workflows := default dict $config.workflows }}
{{- $_ := set $workflows "directory" .Values.customWorkflows.mountPath }}
{{- $_ := set $config "workflows" $workflows }}
{{- end }}
{{- if .Values.persistence.enabled }}
{{- $delivery := default dict $config.delivery }}
{{- $_ := set $delivery "state" (printf "%s/cano.db" (trimSuffix "/" .Values.persistence.mountPath)) }}
{{- $_ := set $config "delivery" $delivery }}
{{- end }}
{{- if include "cano.multiReplica" . }}
{{- $kubernetes := default dict $config.kubernetes }}
{{- $leader := default dict $kubernetes.leaderElection }}
{{- $_ := set $leader "enabled" true }}
{{- $_ := set $kubernetes "leaderElection" $leader }}
{{- $_ := set $config "kubernetes" $kubernetes }}
{{- end }}
{{- toYaml $config }}
{{- end }}

{{/* "true" when Cano talks to the cluster (kubernetes.enabled is auto or true). */}}
{{- define "cano.kubernetesEnabled" -}}
{{- $kubernetes := default dict .Values.kubernetes }}
{{- if or (not (hasKey $kubernetes "enabled")) (ne (toString $kubernetes.enabled) "false") }}true{{ end }}
{{- end }}

{{/* "true" when leader election is on after the chart's decisions. */}}
{{- define "cano.leaderElection" -}}
{{- $config := include "cano.config" . | fromYaml }}
{{- $kubernetes := default dict $config.kubernetes }}
{{- $leader := default dict $kubernetes.leaderElection }}
{{- if and (include "cano.kubernetesEnabled" .) $leader.enabled }}true{{ end }}
{{- end }}

{{/*
ClusterRole rules, derived from the enabled sources, the ctx.k8s policy and Karo, as YAML.
Rules are collected as "group|resource" -> verbs, then printed sorted.
*/}}
{{- define "cano.clusterRules" -}}
{{- $defaults := include "cano.configDefaults" . | fromJson }}
{{- $groups := include "cano.kindGroups" . | fromJson }}
{{- $kubernetes := default dict .Values.kubernetes }}
{{- $sources := default dict $kubernetes.sources }}
{{- $acc := dict }}
{{- $add := list }}
{{- if ne (toString (dig "enabled" true $sources)) "false" }}
{{- range $name, $on := $defaults.sources }}
{{- $source := default dict (index $sources $name) }}
{{- if eq (toString (dig "enabled" $on $source)) "true" }}
{{- if eq $name "pods" }}{{ $add = append $add (list "" "pods") }}{{ end }}
{{- if eq $name "jobs" }}{{ $add = append $add (list "batch" "jobs") }}{{ end }}
{{- if eq $name "deployments" }}{{ $add = append $add (list "apps" "deployments") }}{{ end }}
{{- if eq $name "nodes" }}{{ $add = append $add (list "" "nodes") }}{{ end }}
{{- if eq $name "helm" }}{{ $add = append $add (list "" "secrets") }}{{ end }}
{{- if eq $name "events" }}
{{- if eq (dig "api" $defaults.eventsApi $source) "events.k8s.io" }}
{{- $add = append $add (list "events.k8s.io" "events") }}
{{- else }}
{{- $add = append $add (list "" "events") }}
{{- end }}
{{- end }}
{{- if eq $name "changes" }}
{{- range $kind := (dig "kinds" $defaults.changeKinds $source) }}
{{- $plural := printf "%ss" (lower $kind) }}
{{- $add = append $add (list (index $groups $plural) $plural) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- range $pair := $add }}
{{- $key := printf "%s|%s" (index $pair 0) (index $pair 1) }}
{{- $_ := set $acc $key (concat (default list (index $acc $key)) (list "list" "watch")) }}
{{- end }}
{{- $capabilities := default dict .Values.capabilities }}
{{- $policy := default dict $capabilities.kubernetes }}
{{- range $entry := (dig "allow" $defaults.kubernetesAllow $policy) }}
{{- $parts := splitList ":" $entry }}
{{- $resource := index $parts 0 }}
{{- $base := index (splitList "/" $resource) 0 }}
{{- if not (hasKey $groups $base) }}
{{- fail (printf "capabilities.kubernetes.allow: %q names a resource ctx.k8s does not serve (served: %s)" $entry (keys $groups | sortAlpha | join ", ")) }}
{{- end }}
{{- $key := printf "%s|%s" (index $groups $base) $resource }}
{{- $_ := set $acc $key (append (default list (index $acc $key)) (index $parts 1)) }}
{{- end }}
{{- $karo := default dict $kubernetes.karo }}
{{- if $karo.enabled }}
{{- range $rule := list (list "karo.io|alertreactions" "get" "list" "watch") (list "karo.io|alertreactions/status" "get" "update") (list "batch|jobs" "create") }}
{{- $key := first $rule }}
{{- $_ := set $acc $key (concat (default list (index $acc $key)) (rest $rule)) }}
{{- end }}
{{- end }}
{{- range $key := keys $acc | sortAlpha }}
{{- $parts := splitList "|" $key }}
- apiGroups: [{{ index $parts 0 | quote }}]
  resources: [{{ index $parts 1 | quote }}]
  verbs: {{ index $acc $key | uniq | sortAlpha | toJson }}
{{- end }}
{{- with .Values.rbac.extraRules }}
{{ toYaml . }}
{{- end }}
{{- end }}
