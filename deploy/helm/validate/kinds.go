package main

import (
	"google.golang.org/protobuf/proto"
	networkingv1alpha3 "istio.io/api/networking/v1alpha3"
)

// kinds maps "apiVersion/kind" to its check. Only versions the API servers and controllers in
// question serve today are listed: a manifest on a removed version fails here as it would there.
var kinds = map[string]func([]byte) []string{
	"v1/ConfigMap":                                        typed(checkConfigMap),
	"v1/Service":                                          typed(checkService),
	"v1/ServiceAccount":                                   typed(checkServiceAccount),
	"apps/v1/Deployment":                                  typed(checkDeployment),
	"autoscaling/v2/HorizontalPodAutoscaler":              typed(checkHPA),
	"policy/v1/PodDisruptionBudget":                       typed(checkPDB),
	"networking.k8s.io/v1/NetworkPolicy":                  typed(checkNetworkPolicy),
	"monitoring.coreos.com/v1/ServiceMonitor":             typed(checkServiceMonitor),
	"monitoring.coreos.com/v1/PodMonitor":                 typed(checkPodMonitor),
	"monitoring.coreos.com/v1/PrometheusRule":             typed(checkPrometheusRule),
	"gateway.networking.k8s.io/v1/HTTPRoute":              typed(checkHTTPRoute),
	"gateway.networking.k8s.io/v1/BackendTLSPolicy":       typed(checkBackendTLSPolicy),
	"gateway.networking.k8s.io/v1alpha3/BackendTLSPolicy": typed(checkBackendTLSPolicyV1alpha3),
	"gateway.envoyproxy.io/v1alpha1/Backend":              typed(checkEGBackend),
	"gateway.envoyproxy.io/v1alpha1/EnvoyExtensionPolicy": typed(checkEGExtensionPolicy),
	"networking.istio.io/v1alpha3/EnvoyFilter":            istioEnvoyFilter,
}

func init() {
	// Istio serves its other networking kinds under v1 (current), v1beta1 and v1alpha3, one schema.
	for _, version := range []string{"v1", "v1beta1", "v1alpha3"} {
		api := "networking.istio.io/" + version + "/"
		kinds[api+"ServiceEntry"] = istio(func() proto.Message { return &networkingv1alpha3.ServiceEntry{} })
		kinds[api+"Gateway"] = istio(func() proto.Message { return &networkingv1alpha3.Gateway{} })
		kinds[api+"DestinationRule"] = istio(func() proto.Message { return &networkingv1alpha3.DestinationRule{} })
		kinds[api+"VirtualService"] = istio(func() proto.Message { return &networkingv1alpha3.VirtualService{} })
	}
}
