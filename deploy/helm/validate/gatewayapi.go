package main

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	gatewayv1 "sigs.k8s.io/gateway-api/apis/v1"
	gatewayv1alpha3 "sigs.k8s.io/gateway-api/apis/v1alpha3"
)

// Gateway API kinds, decoded into its published API types; what its CRDs' OpenAPI and CEL rules
// add for the fields the chart renders is checked here.

func checkHTTPRoute(r *gatewayv1.HTTPRoute) field.ErrorList {
	errs := objectMeta(&r.ObjectMeta, subdomainName)
	spec := field.NewPath("spec")
	if len(r.Spec.ParentRefs) == 0 {
		errs = append(errs, field.Required(spec.Child("parentRefs"), "a route attaches to a Gateway"))
	}
	for i, p := range r.Spec.ParentRefs {
		errs = append(errs, dnsSubdomain(spec.Child("parentRefs").Index(i).Child("name"), string(p.Name))...)
	}
	if len(r.Spec.Rules) > 16 {
		errs = append(errs, field.TooMany(spec.Child("rules"), len(r.Spec.Rules), 16))
	}
	for i, rule := range r.Spec.Rules {
		rp := spec.Child("rules").Index(i)
		if len(rule.Matches) > 64 {
			errs = append(errs, field.TooMany(rp.Child("matches"), len(rule.Matches), 64))
		}
		for j, m := range rule.Matches {
			mp := rp.Child("matches").Index(j)
			if m.Path != nil && m.Path.Value != nil && !strings.HasPrefix(*m.Path.Value, "/") {
				errs = append(errs, field.Invalid(mp.Child("path", "value"), *m.Path.Value, "must start with /"))
			}
			for k, h := range m.Headers {
				for _, msg := range validation.IsHTTPHeaderName(string(h.Name)) {
					errs = append(errs, field.Invalid(mp.Child("headers").Index(k).Child("name"), h.Name, msg))
				}
			}
		}
		for j, b := range rule.BackendRefs {
			bp := rp.Child("backendRefs").Index(j)
			kind := "Service"
			if b.Kind != nil {
				kind = string(*b.Kind)
			}
			if b.Port == nil && kind == "Service" {
				errs = append(errs, field.Required(bp.Child("port"), "a Service backend needs its port"))
			}
			if b.Port != nil {
				errs = append(errs, portNumber(bp.Child("port"), int(*b.Port))...)
			}
		}
		if t := rule.Timeouts; t != nil {
			if t.Request != nil {
				errs = append(errs, duration(gatewayDuration, string(*t.Request), rp.Child("timeouts", "request"))...)
			}
			if t.BackendRequest != nil {
				errs = append(errs, duration(gatewayDuration, string(*t.BackendRequest), rp.Child("timeouts", "backendRequest"))...)
			}
		}
	}
	return errs
}

func checkBackendTLSPolicy(p *gatewayv1.BackendTLSPolicy) field.ErrorList {
	errs := objectMeta(&p.ObjectMeta, subdomainName)
	spec := field.NewPath("spec")
	if len(p.Spec.TargetRefs) == 0 {
		errs = append(errs, field.Required(spec.Child("targetRefs"), ""))
	}
	v := p.Spec.Validation
	errs = append(errs, dnsSubdomain(spec.Child("validation", "hostname"), string(v.Hostname))...)
	wellKnown := v.WellKnownCACertificates != nil && *v.WellKnownCACertificates != ""
	errs = append(errs, oneOf(spec.Child("validation"), wellKnown, len(v.CACertificateRefs) > 0)...)
	if wellKnown && *v.WellKnownCACertificates != "System" {
		errs = append(errs, field.NotSupported(spec.Child("validation", "wellKnownCACertificates"), *v.WellKnownCACertificates, []string{"System"}))
	}
	return errs
}

// v1alpha3 is the same object under an older version.
func checkBackendTLSPolicyV1alpha3(p *gatewayv1alpha3.BackendTLSPolicy) field.ErrorList {
	return checkBackendTLSPolicy((*gatewayv1.BackendTLSPolicy)(p))
}

func dnsSubdomain(path *field.Path, v string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(v) {
		errs = append(errs, field.Invalid(path, v, msg))
	}
	return errs
}
