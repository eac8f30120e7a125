package main

import (
	"encoding/json"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Envoy Gateway's gateway.envoyproxy.io/v1alpha1 kinds the chart renders. Its API lives inside the
// whole project's Go module (hundreds of dependencies), so these structs are written from its API
// reference instead: every field the reference lists for these objects, typed; fields the chart
// never sets and whose insides are large (TLS settings, cluster settings, Wasm, Lua) are kept
// as raw JSON, present but not checked further.

type egBackend struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		Type         *string             `json:"type,omitempty"`
		Endpoints    []egBackendEndpoint `json:"endpoints,omitempty"`
		AppProtocols []string            `json:"appProtocols,omitempty"`
		Fallback     *bool               `json:"fallback,omitempty"`
		TLS          json.RawMessage     `json:"tls,omitempty"`
	} `json:"spec"`
	Status json.RawMessage `json:"status,omitempty"`
}

type egBackendEndpoint struct {
	Hostname *string `json:"hostname,omitempty"`
	FQDN     *struct {
		Hostname string `json:"hostname"`
		Port     int32  `json:"port"`
	} `json:"fqdn,omitempty"`
	IP *struct {
		Address string `json:"address"`
		Port    int32  `json:"port"`
	} `json:"ip,omitempty"`
	Unix *struct {
		Path string `json:"path"`
	} `json:"unix,omitempty"`
	Zone *string `json:"zone,omitempty"`
}

type egTargetRef struct {
	Group       string  `json:"group"`
	Kind        string  `json:"kind"`
	Name        string  `json:"name"`
	SectionName *string `json:"sectionName,omitempty"`
}

type egBackendRef struct {
	Group     *string `json:"group,omitempty"`
	Kind      *string `json:"kind,omitempty"`
	Name      string  `json:"name"`
	Namespace *string `json:"namespace,omitempty"`
	Port      *int32  `json:"port,omitempty"`
	Weight    *int32  `json:"weight,omitempty"`
	Fallback  *bool   `json:"fallback,omitempty"`
}

type egProcessingModeOptions struct {
	Body       *string  `json:"body,omitempty"`
	Attributes []string `json:"attributes,omitempty"`
}

type egExtProc struct {
	BackendRef      json.RawMessage `json:"backendRef,omitempty"`
	BackendRefs     []egBackendRef  `json:"backendRefs,omitempty"`
	BackendSettings json.RawMessage `json:"backendSettings,omitempty"`
	Stage           *string         `json:"stage,omitempty"`
	MessageTimeout  *string         `json:"messageTimeout,omitempty"`
	FailOpen        *bool           `json:"failOpen,omitempty"`
	ProcessingMode  *struct {
		Request           *egProcessingModeOptions `json:"request,omitempty"`
		Response          *egProcessingModeOptions `json:"response,omitempty"`
		AllowModeOverride bool                     `json:"allowModeOverride,omitempty"`
	} `json:"processingMode,omitempty"`
	Metadata *struct {
		AccessibleNamespaces []string `json:"accessibleNamespaces,omitempty"`
		WritableNamespaces   []string `json:"writableNamespaces,omitempty"`
	} `json:"metadata,omitempty"`
}

type egEnvoyExtensionPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              struct {
		TargetRef       *egTargetRef    `json:"targetRef,omitempty"`
		TargetRefs      []egTargetRef   `json:"targetRefs,omitempty"`
		TargetSelectors json.RawMessage `json:"targetSelectors,omitempty"`
		Wasm            json.RawMessage `json:"wasm,omitempty"`
		ExtProc         []egExtProc     `json:"extProc,omitempty"`
		Lua             json.RawMessage `json:"lua,omitempty"`
	} `json:"spec"`
	Status json.RawMessage `json:"status,omitempty"`
}

func checkEGBackend(b *egBackend) field.ErrorList {
	errs := objectMeta(&b.ObjectMeta, subdomainName)
	path := field.NewPath("spec", "endpoints")
	if len(b.Spec.Endpoints) == 0 || len(b.Spec.Endpoints) > 64 {
		errs = append(errs, field.Invalid(path, len(b.Spec.Endpoints), "1 to 64 endpoints"))
	}
	for i, e := range b.Spec.Endpoints {
		ep := path.Index(i)
		errs = append(errs, oneOf(ep, e.FQDN != nil, e.IP != nil, e.Unix != nil)...)
		if e.FQDN != nil {
			for _, msg := range validation.IsDNS1123Subdomain(e.FQDN.Hostname) {
				errs = append(errs, field.Invalid(ep.Child("fqdn", "hostname"), e.FQDN.Hostname, msg))
			}
			errs = append(errs, portNumber(ep.Child("fqdn", "port"), int(e.FQDN.Port))...)
		}
		if e.IP != nil {
			errs = append(errs, validation.IsValidIP(ep.Child("ip", "address"), e.IP.Address)...)
			errs = append(errs, portNumber(ep.Child("ip", "port"), int(e.IP.Port))...)
		}
	}
	for i, p := range b.Spec.AppProtocols {
		if !slices.Contains([]string{"gateway.envoyproxy.io/h2c", "gateway.envoyproxy.io/ws", "gateway.envoyproxy.io/wss"}, p) {
			errs = append(errs, field.NotSupported(field.NewPath("spec", "appProtocols").Index(i), p, []string{"gateway.envoyproxy.io/h2c", "gateway.envoyproxy.io/ws", "gateway.envoyproxy.io/wss"}))
		}
	}
	return errs
}

var egBodyModes = []string{"Streamed", "Buffered", "BufferedPartial", "FullDuplexStreamed"}

func checkEGExtensionPolicy(p *egEnvoyExtensionPolicy) field.ErrorList {
	errs := objectMeta(&p.ObjectMeta, subdomainName)
	spec := field.NewPath("spec")
	if p.Spec.TargetRef == nil && len(p.Spec.TargetRefs) == 0 && len(p.Spec.TargetSelectors) == 0 {
		errs = append(errs, field.Required(spec.Child("targetRefs"), "a policy attaches to something"))
	}
	for i, t := range p.Spec.TargetRefs {
		tp := spec.Child("targetRefs").Index(i)
		if t.Group != "gateway.networking.k8s.io" || !slices.Contains([]string{"Gateway", "HTTPRoute", "GRPCRoute", "TCPRoute", "UDPRoute", "TLSRoute"}, t.Kind) || t.Name == "" {
			errs = append(errs, field.Invalid(tp, t, "a Gateway API Gateway or route, by name"))
		}
	}
	for i, x := range p.Spec.ExtProc {
		xp := spec.Child("extProc").Index(i)
		if len(x.BackendRef) > 0 {
			errs = append(errs, field.Forbidden(xp.Child("backendRef"), "use backendRefs"))
		}
		if len(x.BackendRefs) == 0 {
			errs = append(errs, field.Required(xp.Child("backendRefs"), ""))
		}
		for j, r := range x.BackendRefs {
			rp := xp.Child("backendRefs").Index(j)
			kind := "Service"
			if r.Kind != nil {
				kind = *r.Kind
			}
			if kind != "Service" && kind != "Backend" {
				errs = append(errs, field.NotSupported(rp.Child("kind"), kind, []string{"Service", "Backend"}))
			}
			errs = append(errs, dnsLabel(rp.Child("name"), r.Name)...)
			// A Service is reached on one of its ports, which must be named here.
			if kind == "Service" && r.Port == nil {
				errs = append(errs, field.Required(rp.Child("port"), "a Service backend needs its port"))
			} else if r.Port != nil {
				errs = append(errs, portNumber(rp.Child("port"), int(*r.Port))...)
			}
		}
		if x.MessageTimeout != nil {
			errs = append(errs, duration(gatewayDuration, *x.MessageTimeout, xp.Child("messageTimeout"))...)
		}
		if x.Stage != nil && !slices.Contains([]string{"Route", "Backend", "All"}, *x.Stage) {
			errs = append(errs, field.NotSupported(xp.Child("stage"), *x.Stage, []string{"Route", "Backend", "All"}))
		}
		fullDuplex := false
		if m := x.ProcessingMode; m != nil {
			for name, o := range map[string]*egProcessingModeOptions{"request": m.Request, "response": m.Response} {
				if o == nil || o.Body == nil {
					continue
				}
				if !slices.Contains(egBodyModes, *o.Body) {
					errs = append(errs, field.NotSupported(xp.Child("processingMode", name, "body"), *o.Body, egBodyModes))
				}
				fullDuplex = fullDuplex || *o.Body == "FullDuplexStreamed"
			}
		}
		if fullDuplex && x.FailOpen != nil && *x.FailOpen {
			errs = append(errs, field.Invalid(xp.Child("failOpen"), true, "must be false with FullDuplexStreamed"))
		}
	}
	return errs
}
