package main

import (
	"encoding/json"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	networkingv1alpha3 "istio.io/api/networking/v1alpha3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Istio's networking kinds. Their spec is a protobuf message (istio.io/api, the source Istio's
// CRDs are generated from), decoded with protojson, which refuses unknown fields and wrong enum
// names. An EnvoyFilter's patch values are Envoy configuration (google.protobuf.Struct), which
// only Envoy itself can check; the Envoy configs they come from are tested against Envoy
// (envoy/configs.test.ts).

type istioObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              json.RawMessage `json:"spec"`
	Status            json.RawMessage `json:"status,omitempty"`
}

func istio(newSpec func() proto.Message) func([]byte) []string {
	return func(js []byte) []string {
		var obj istioObject
		if errs := strict(js, &obj); len(errs) > 0 {
			return errs
		}
		errs := messages(objectMeta(&obj.ObjectMeta, subdomainName))
		if len(obj.Spec) == 0 {
			return append(errs, "spec: Required value")
		}
		if err := (protojson.UnmarshalOptions{}).Unmarshal(obj.Spec, newSpec()); err != nil {
			errs = append(errs, "spec: "+err.Error())
		}
		return errs
	}
}

func istioEnvoyFilter(js []byte) []string {
	errs := istio(func() proto.Message { return &networkingv1alpha3.EnvoyFilter{} })(js)
	if len(errs) > 0 {
		return errs
	}
	var obj struct {
		Spec json.RawMessage `json:"spec"`
	}
	_ = json.Unmarshal(js, &obj)
	var spec networkingv1alpha3.EnvoyFilter
	_ = protojson.Unmarshal(obj.Spec, &spec)
	path := field.NewPath("spec", "configPatches")
	var fe field.ErrorList
	for i, p := range spec.ConfigPatches {
		pp := path.Index(i)
		if p.ApplyTo == networkingv1alpha3.EnvoyFilter_INVALID {
			fe = append(fe, field.Required(pp.Child("applyTo"), ""))
		}
		if p.Patch == nil || p.Patch.Operation == networkingv1alpha3.EnvoyFilter_Patch_INVALID {
			fe = append(fe, field.Required(pp.Child("patch", "operation"), ""))
		}
	}
	return messages(fe)
}
