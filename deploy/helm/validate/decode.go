package main

import (
	"fmt"
	"regexp"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
)

// strict decodes JSON into v as the API server does on create with field validation Strict:
// case-sensitive names, and any unknown or duplicate field is an error.
func strict(js []byte, v any) []string {
	strictErrs, err := sigsjson.UnmarshalStrict(js, v)
	if err != nil {
		return []string{"decode: " + err.Error()}
	}
	var out []string
	for _, e := range strictErrs {
		out = append(out, "strict decode: "+e.Error())
	}
	return out
}

// typed returns a check that decodes into a fresh T and, when that succeeds, runs its own checks.
func typed[T any](check func(*T) field.ErrorList) func([]byte) []string {
	return func(js []byte) []string {
		obj := new(T)
		if errs := strict(js, obj); len(errs) > 0 {
			return errs
		}
		return messages(check(obj))
	}
}

func messages(errs field.ErrorList) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

// nameRule is how the API server checks an object's name for its kind.
type nameRule = apivalidation.ValidateNameFunc

var (
	subdomainName nameRule = apivalidation.NameIsDNSSubdomain
	labelName     nameRule = apivalidation.NameIsDNSLabel
	// Services are named as DNS-1035 labels (they become DNS names that may not start with a digit).
	serviceName nameRule = apivalidation.NameIsDNS1035Label
)

// objectMeta checks name, namespace, labels and annotations; every object here is namespaced.
func objectMeta(m *metav1.ObjectMeta, name nameRule) field.ErrorList {
	path := field.NewPath("metadata")
	if m.Name == "" {
		return field.ErrorList{field.Required(path.Child("name"), "")}
	}
	return apivalidation.ValidateObjectMeta(m, true, name, path)
}

// selector checks a label selector; required ones may not be missing or empty (which selects everything).
func selector(s *metav1.LabelSelector, required bool, path *field.Path) field.ErrorList {
	if s == nil || (len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0) {
		if required {
			return field.ErrorList{field.Required(path, "an empty selector selects every pod")}
		}
		return nil
	}
	return metavalidation.ValidateLabelSelector(s, metavalidation.LabelSelectorValidationOptions{}, path)
}

// Durations as Prometheus (and the Prometheus Operator's CRDs) write them: 30s, 1m30s, 2h.
var promDuration = regexp.MustCompile(`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`)

// Durations as Gateway API and Envoy Gateway write them (GEP-2257): 1h, 30s, 500ms.
var gatewayDuration = regexp.MustCompile(`^([0-9]{1,5}(h|m|s|ms)){1,4}$`)

func duration(re *regexp.Regexp, value string, path *field.Path) field.ErrorList {
	if !re.MatchString(value) || value == "" {
		return field.ErrorList{field.Invalid(path, value, fmt.Sprintf("not a duration (%s)", re))}
	}
	return nil
}

func oneOf(path *field.Path, set ...bool) field.ErrorList {
	n := 0
	for _, s := range set {
		if s {
			n++
		}
	}
	if n != 1 {
		return field.ErrorList{field.Invalid(path, n, "exactly one kind of source or handler must be set")}
	}
	return nil
}
