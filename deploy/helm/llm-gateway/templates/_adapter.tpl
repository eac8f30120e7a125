{{/* The ext_proc streams gauge: the processor's name for it, and the pods metric the HPA reads. */}}
{{- define "llm-gateway.streamsMetric" -}}llm_gateway_ext_proc_streams_in_flight{{- end -}}

{{/*
prometheus-adapter rules (its config file's "rules", also the prometheus-community chart's
rules.custom): the gauge per pod, summed over the pod's series (one per scrape target), named as
the processor names it. The namespace and pod labels come from the ServiceMonitor's endpoint
discovery. <<...>> is the adapter's own template syntax.
*/}}
{{- define "llm-gateway.adapterRules" -}}
rules:
  - seriesQuery: '{{ include "llm-gateway.streamsMetric" . }}{namespace!="",pod!=""}'
    resources:
      overrides:
        namespace:
          resource: namespace
        pod:
          resource: pod
    name:
      matches: ^{{ include "llm-gateway.streamsMetric" . }}$
      as: {{ include "llm-gateway.streamsMetric" . }}
    metricsQuery: sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)
{{- end -}}
