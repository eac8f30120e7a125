{{/*
Rules across values that values.schema.json cannot express; each failure says what to change.
Included once, by the Deployment.
*/}}
{{- define "llm-gateway.validate" -}}
{{- $p := .Values.processor -}}
{{- if and (eq $p.auth.mode "network") (not .Values.networkPolicy.enabled) -}}
{{- fail "processor.auth.mode=network admits any stream that reaches the gRPC port: set networkPolicy.enabled=true so that only Envoy can" -}}
{{- end -}}
{{- if .Values.envoyGateway.enabled -}}
{{- if ne $p.auth.mode "network" -}}
{{- fail "envoyGateway.enabled: Envoy Gateway cannot send the processor token; set processor.auth.mode=network (with networkPolicy.enabled=true)" -}}
{{- end -}}
{{- if $p.fallbackChains -}}
{{- fail "envoyGateway.enabled: Envoy Gateway has no per-attempt ext_proc for fallback chains; set processor.fallbackChains=false" -}}
{{- end -}}
{{- end -}}
{{- $many := or .Values.autoscaling.enabled (gt (.Values.replicaCount | int) 1) -}}
{{- if and $p.fallbackChains $many (not .Values.secrets.routeContext.enabled) -}}
{{- fail "secrets.routeContext.enabled=false with several replicas: a fallback attempt may reach another replica, which must verify the routing context with the same ROUTE_CONTEXT_SECRET" -}}
{{- end -}}
{{- $min := include "llm-gateway.minTerminationGrace" . | int -}}
{{- if and .Values.terminationGracePeriodSeconds (le (.Values.terminationGracePeriodSeconds | int) $min) -}}
{{- fail (printf "terminationGracePeriodSeconds=%d must be larger than processor.shutdownGraceSeconds + preStopSleepSeconds + 2 = %d, or in-flight streams are killed before they can finish" (.Values.terminationGracePeriodSeconds | int) $min) -}}
{{- end -}}
{{- if and .Values.autoscaling.enabled (lt (.Values.autoscaling.maxReplicas | int) (.Values.autoscaling.minReplicas | int)) -}}
{{- fail "autoscaling.maxReplicas must be at least autoscaling.minReplicas" -}}
{{- end -}}
{{- if and .Values.redis.url .Values.redis.existingSecret.name -}}
{{- fail "set redis.url or redis.existingSecret.name, not both" -}}
{{- end -}}
{{- if and .Values.database.url .Values.database.existingSecret.name -}}
{{- fail "set database.url or database.existingSecret.name, not both" -}}
{{- end -}}
{{- end -}}
