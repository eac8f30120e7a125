{{/*
Names. The processor's objects are "<fullname>-ext-proc": installed as release "llm-gateway" in
namespace "llm-gateway", its Service is llm-gateway-ext-proc.llm-gateway.svc, the address the
repository's rendered Envoy configs (envoy/snippets, envoy/istio, envoy/envoy-gateway) use.
*/}}
{{- define "llm-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "llm-gateway.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 54 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 54 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 54 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The processor's objects; 54 + "-ext-proc" stays within a Service name's 63 characters. */}}
{{- define "llm-gateway.processor" -}}
{{- printf "%s-ext-proc" (include "llm-gateway.fullname" .) -}}
{{- end -}}

{{- define "llm-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "llm-gateway.processor" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels every object carries; each component adds its own app.kubernetes.io/component. */}}
{{- define "llm-gateway.commonLabels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "llm-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | trunc 63 | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: llm-gateway
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The processor's objects. */}}
{{- define "llm-gateway.labels" -}}
{{ include "llm-gateway.commonLabels" . }}
app.kubernetes.io/component: ext-proc
{{- end -}}

{{- define "llm-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "llm-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: ext-proc
{{- end -}}

{{/* The ledger writer's objects. */}}
{{- define "llm-gateway.writerLabels" -}}
{{ include "llm-gateway.commonLabels" . }}
app.kubernetes.io/component: ledger-writer
{{- end -}}

{{- define "llm-gateway.writerSelectorLabels" -}}
app.kubernetes.io/name: {{ include "llm-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: ledger-writer
{{- end -}}

{{- define "llm-gateway.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* The Secret an entry of .Values.secrets reads: its own secretName, else secrets.name. */}}
{{- define "llm-gateway.secretName" -}}
{{- $entry := index .root.Values.secrets .entry -}}
{{- $entry.secretName | default .root.Values.secrets.name -}}
{{- end -}}

{{/* Where the processor's files live in the container (the root filesystem is read-only). */}}
{{- define "llm-gateway.configDir" -}}/etc/llm-gateway/config{{- end -}}
{{- define "llm-gateway.masterKeyDir" -}}/etc/llm-gateway/master-key{{- end -}}
{{- define "llm-gateway.ledgerDir" -}}/var/lib/llm-gateway/ledger{{- end -}}

{{/*
Seconds Kubernetes waits between SIGTERM and SIGKILL. The processor lets streams run for
SHUTDOWN_GRACE_MS, and its primary waits 2 s beyond that for its workers; the preStop sleep comes
before SIGTERM and counts against the same period.
*/}}
{{- define "llm-gateway.minTerminationGrace" -}}
{{- add (.Values.processor.shutdownGraceSeconds | int) 2 (.Values.processor.preStopSleepSeconds | int) -}}
{{- end -}}

{{- define "llm-gateway.terminationGrace" -}}
{{- $min := include "llm-gateway.minTerminationGrace" . | int -}}
{{- if .Values.terminationGracePeriodSeconds -}}
{{- .Values.terminationGracePeriodSeconds | int -}}
{{- else -}}
{{- add $min 10 -}}
{{- end -}}
{{- end -}}

{{/* The processor's gRPC Service as Envoy reaches it. */}}
{{- define "llm-gateway.processorHost" -}}
{{- printf "%s.%s.svc.%s" (include "llm-gateway.processor" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{/* REDIS_URL and DATABASE_URL, for the processor and the ledger writer alike. */}}
{{- define "llm-gateway.storeEnv" -}}
{{- if .Values.redis.url }}
- name: REDIS_URL
  value: {{ .Values.redis.url | quote }}
{{- else if .Values.redis.existingSecret.name }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret.name }}
      key: {{ .Values.redis.existingSecret.key }}
{{- end }}
{{- if .Values.database.url }}
- name: DATABASE_URL
  value: {{ .Values.database.url | quote }}
{{- else if .Values.database.existingSecret.name }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret.name }}
      key: {{ .Values.database.existingSecret.key }}
{{- end }}
{{- end -}}

{{/* The ledger goes to PostgreSQL (through the Redis stream) when both are configured. */}}
{{- define "llm-gateway.ledgerToDatabase" -}}
{{- if and (or .Values.redis.url .Values.redis.existingSecret.name) (or .Values.database.url .Values.database.existingSecret.name) -}}true{{- end -}}
{{- end -}}
