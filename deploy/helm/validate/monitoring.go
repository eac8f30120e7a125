package main

import (
	"regexp"
	"slices"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The Prometheus Operator's kinds, decoded into its published API types; what its CRDs' OpenAPI
// patterns and enums add is checked here.

var relabelActions = []string{"replace", "Replace", "keep", "Keep", "drop", "Drop", "hashmod", "HashMod", "labelmap", "LabelMap",
	"labeldrop", "LabelDrop", "labelkeep", "LabelKeep", "lowercase", "Lowercase", "uppercase", "Uppercase", "keepequal", "KeepEqual", "dropequal", "DropEqual"}

var promLabelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

func relabelings(rs []monitoringv1.RelabelConfig, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, r := range rs {
		rp := path.Index(i)
		if r.Action != "" && !slices.Contains(relabelActions, r.Action) {
			errs = append(errs, field.NotSupported(rp.Child("action"), r.Action, relabelActions))
		}
		if r.TargetLabel != "" && !promLabelName.MatchString(r.TargetLabel) {
			errs = append(errs, field.Invalid(rp.Child("targetLabel"), r.TargetLabel, "not a Prometheus label name"))
		}
	}
	return errs
}

func scrapeTiming(interval, timeout monitoringv1.Duration, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if interval != "" {
		errs = append(errs, duration(promDuration, string(interval), path.Child("interval"))...)
	}
	if timeout != "" {
		errs = append(errs, duration(promDuration, string(timeout), path.Child("scrapeTimeout"))...)
	}
	return errs
}

func checkServiceMonitor(m *monitoringv1.ServiceMonitor) field.ErrorList {
	errs := objectMeta(&m.ObjectMeta, subdomainName)
	spec := field.NewPath("spec")
	errs = append(errs, selector(&m.Spec.Selector, true, spec.Child("selector"))...)
	if len(m.Spec.Endpoints) == 0 {
		errs = append(errs, field.Required(spec.Child("endpoints"), ""))
	}
	for i, e := range m.Spec.Endpoints {
		ep := spec.Child("endpoints").Index(i)
		if e.Port == "" && e.TargetPort == nil {
			errs = append(errs, field.Required(ep.Child("port"), "port or targetPort"))
		}
		errs = append(errs, scrapeTiming(e.Interval, e.ScrapeTimeout, ep)...)
		errs = append(errs, relabelings(e.RelabelConfigs, ep.Child("relabelings"))...)
		errs = append(errs, relabelings(e.MetricRelabelConfigs, ep.Child("metricRelabelings"))...)
	}
	return errs
}

func checkPodMonitor(m *monitoringv1.PodMonitor) field.ErrorList {
	errs := objectMeta(&m.ObjectMeta, subdomainName)
	spec := field.NewPath("spec")
	errs = append(errs, selector(&m.Spec.Selector, true, spec.Child("selector"))...)
	if len(m.Spec.PodMetricsEndpoints) == 0 {
		errs = append(errs, field.Required(spec.Child("podMetricsEndpoints"), ""))
	}
	for i, e := range m.Spec.PodMetricsEndpoints {
		ep := spec.Child("podMetricsEndpoints").Index(i)
		if (e.Port == nil || *e.Port == "") && e.PortNumber == nil && e.TargetPort == nil {
			errs = append(errs, field.Required(ep.Child("port"), "port, portNumber or targetPort"))
		}
		errs = append(errs, scrapeTiming(e.Interval, e.ScrapeTimeout, ep)...)
		errs = append(errs, relabelings(e.RelabelConfigs, ep.Child("relabelings"))...)
	}
	return errs
}

func checkPrometheusRule(r *monitoringv1.PrometheusRule) field.ErrorList {
	errs := objectMeta(&r.ObjectMeta, subdomainName)
	groups := field.NewPath("spec", "groups")
	if len(r.Spec.Groups) == 0 {
		errs = append(errs, field.Required(groups, "a rule file without groups does nothing"))
	}
	seen := map[string]bool{}
	for i, g := range r.Spec.Groups {
		gp := groups.Index(i)
		if g.Name == "" {
			errs = append(errs, field.Required(gp.Child("name"), ""))
		}
		// Prometheus refuses a rule file whose groups share a name.
		if seen[g.Name] {
			errs = append(errs, field.Duplicate(gp.Child("name"), g.Name))
		}
		seen[g.Name] = true
		if g.Interval != nil {
			errs = append(errs, duration(promDuration, string(*g.Interval), gp.Child("interval"))...)
		}
		for j, rule := range g.Rules {
			rp := gp.Child("rules").Index(j)
			if (rule.Alert == "") == (rule.Record == "") {
				errs = append(errs, field.Invalid(rp, rule.Alert+rule.Record, "exactly one of alert and record"))
			}
			if rule.Expr.String() == "" {
				errs = append(errs, field.Required(rp.Child("expr"), ""))
			}
			if rule.For != nil {
				errs = append(errs, duration(promDuration, string(*rule.For), rp.Child("for"))...)
			}
			if rule.Record != "" && len(rule.Annotations) > 0 {
				errs = append(errs, field.Forbidden(rp.Child("annotations"), "only alerting rules have annotations"))
			}
			for k := range rule.Labels {
				if !promLabelName.MatchString(k) {
					errs = append(errs, field.Invalid(rp.Child("labels").Key(k), k, "not a Prometheus label name"))
				}
			}
		}
	}
	return errs
}
