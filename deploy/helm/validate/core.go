package main

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The checks below are the parts of the API server's validation (k8s.io/kubernetes/pkg/apis/*/validation,
// which is not an importable module) that apply to what the chart renders.

func checkDeployment(d *appsv1.Deployment) field.ErrorList {
	errs := objectMeta(&d.ObjectMeta, subdomainName)
	spec := field.NewPath("spec")
	if d.Spec.Replicas != nil && *d.Spec.Replicas < 0 {
		errs = append(errs, field.Invalid(spec.Child("replicas"), *d.Spec.Replicas, "must be >= 0"))
	}
	errs = append(errs, selector(d.Spec.Selector, true, spec.Child("selector"))...)
	if sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector); err == nil && d.Spec.Selector != nil {
		if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
			errs = append(errs, field.Invalid(spec.Child("template", "metadata", "labels"), d.Spec.Template.Labels, "does not match spec.selector"))
		}
	}
	if ru := d.Spec.Strategy.RollingUpdate; ru != nil {
		zero := func(v *intstr.IntOrString) bool { return v != nil && (v.String() == "0" || v.String() == "0%") }
		if zero(ru.MaxSurge) && zero(ru.MaxUnavailable) {
			errs = append(errs, field.Invalid(spec.Child("strategy", "rollingUpdate"), "", "maxSurge and maxUnavailable may not both be 0"))
		}
	}
	errs = append(errs, objectMeta(&metav1.ObjectMeta{Name: "template", Namespace: "x", Labels: d.Spec.Template.Labels, Annotations: d.Spec.Template.Annotations}, subdomainName)...)
	return append(errs, podSpec(&d.Spec.Template.Spec, spec.Child("template", "spec"))...)
}

func podSpec(p *corev1.PodSpec, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(p.Containers) == 0 {
		errs = append(errs, field.Required(path.Child("containers"), ""))
	}
	volumes := sets.New[string]()
	for i, v := range p.Volumes {
		vp := path.Child("volumes").Index(i)
		errs = append(errs, dnsLabel(vp.Child("name"), v.Name)...)
		if volumes.Has(v.Name) {
			errs = append(errs, field.Duplicate(vp.Child("name"), v.Name))
		}
		volumes.Insert(v.Name)
		s := v.VolumeSource
		errs = append(errs, oneOf(vp, s.EmptyDir != nil, s.ConfigMap != nil, s.Secret != nil, s.PersistentVolumeClaim != nil, s.Projected != nil,
			s.HostPath != nil, s.CSI != nil, s.DownwardAPI != nil, s.Ephemeral != nil, s.NFS != nil, s.Image != nil)...)
		if s.Secret != nil && s.Secret.SecretName == "" {
			errs = append(errs, field.Required(vp.Child("secret", "secretName"), ""))
		}
		if s.ConfigMap != nil && s.ConfigMap.Name == "" {
			errs = append(errs, field.Required(vp.Child("configMap", "name"), ""))
		}
		if s.PersistentVolumeClaim != nil && s.PersistentVolumeClaim.ClaimName == "" {
			errs = append(errs, field.Required(vp.Child("persistentVolumeClaim", "claimName"), ""))
		}
	}
	names := sets.New[string]()
	for i := range p.Containers {
		c := &p.Containers[i]
		cp := path.Child("containers").Index(i)
		if names.Has(c.Name) {
			errs = append(errs, field.Duplicate(cp.Child("name"), c.Name))
		}
		names.Insert(c.Name)
		errs = append(errs, container(c, volumes, cp)...)
	}
	if p.TerminationGracePeriodSeconds != nil && *p.TerminationGracePeriodSeconds < 0 {
		errs = append(errs, field.Invalid(path.Child("terminationGracePeriodSeconds"), *p.TerminationGracePeriodSeconds, "must be >= 0"))
	}
	if p.ServiceAccountName != "" {
		for _, msg := range validation.IsDNS1123Subdomain(p.ServiceAccountName) {
			errs = append(errs, field.Invalid(path.Child("serviceAccountName"), p.ServiceAccountName, msg))
		}
	}
	for i, t := range p.TopologySpreadConstraints {
		tp := path.Child("topologySpreadConstraints").Index(i)
		if t.MaxSkew < 1 {
			errs = append(errs, field.Invalid(tp.Child("maxSkew"), t.MaxSkew, "must be >= 1"))
		}
		if t.TopologyKey == "" {
			errs = append(errs, field.Required(tp.Child("topologyKey"), ""))
		}
		if t.WhenUnsatisfiable != corev1.DoNotSchedule && t.WhenUnsatisfiable != corev1.ScheduleAnyway {
			errs = append(errs, field.NotSupported(tp.Child("whenUnsatisfiable"), t.WhenUnsatisfiable, []string{"DoNotSchedule", "ScheduleAnyway"}))
		}
		errs = append(errs, selector(t.LabelSelector, false, tp.Child("labelSelector"))...)
	}
	if sc := p.SecurityContext; sc != nil {
		if sc.RunAsUser != nil && *sc.RunAsUser < 0 {
			errs = append(errs, field.Invalid(path.Child("securityContext", "runAsUser"), *sc.RunAsUser, "must be >= 0"))
		}
	}
	return errs
}

func container(c *corev1.Container, volumes sets.Set[string], path *field.Path) field.ErrorList {
	errs := dnsLabel(path.Child("name"), c.Name)
	if c.Image == "" {
		errs = append(errs, field.Required(path.Child("image"), ""))
	}
	switch c.ImagePullPolicy {
	case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		errs = append(errs, field.NotSupported(path.Child("imagePullPolicy"), c.ImagePullPolicy, []string{"Always", "IfNotPresent", "Never"}))
	}
	ports := sets.New[string]()
	for i, p := range c.Ports {
		pp := path.Child("ports").Index(i)
		errs = append(errs, portNumber(pp.Child("containerPort"), int(p.ContainerPort))...)
		if p.Name != "" {
			errs = append(errs, portName(pp.Child("name"), p.Name)...)
			if ports.Has(p.Name) {
				errs = append(errs, field.Duplicate(pp.Child("name"), p.Name))
			}
			ports.Insert(p.Name)
		}
		errs = append(errs, protocol(pp.Child("protocol"), p.Protocol)...)
	}
	envs := sets.New[string]()
	for i, e := range c.Env {
		ep := path.Child("env").Index(i)
		for _, msg := range validation.IsEnvVarName(e.Name) {
			errs = append(errs, field.Invalid(ep.Child("name"), e.Name, msg))
		}
		// The API allows a repeated name (the last wins); here it is always a mistake.
		if envs.Has(e.Name) {
			errs = append(errs, field.Duplicate(ep.Child("name"), e.Name))
		}
		envs.Insert(e.Name)
		if f := e.ValueFrom; f != nil {
			if e.Value != "" {
				errs = append(errs, field.Invalid(ep, e.Name, "value and valueFrom are exclusive"))
			}
			errs = append(errs, oneOf(ep.Child("valueFrom"), f.SecretKeyRef != nil, f.ConfigMapKeyRef != nil, f.FieldRef != nil, f.ResourceFieldRef != nil, f.FileKeyRef != nil)...)
			if r := f.SecretKeyRef; r != nil {
				errs = append(errs, keyRef(ep.Child("valueFrom", "secretKeyRef"), r.Name, r.Key)...)
			}
			if r := f.ConfigMapKeyRef; r != nil {
				errs = append(errs, keyRef(ep.Child("valueFrom", "configMapKeyRef"), r.Name, r.Key)...)
			}
		}
	}
	for i, e := range c.EnvFrom {
		ep := path.Child("envFrom").Index(i)
		errs = append(errs, oneOf(ep, e.SecretRef != nil, e.ConfigMapRef != nil)...)
		if e.SecretRef != nil && e.SecretRef.Name == "" {
			errs = append(errs, field.Required(ep.Child("secretRef", "name"), ""))
		}
	}
	mounts := sets.New[string]()
	for i, m := range c.VolumeMounts {
		mp := path.Child("volumeMounts").Index(i)
		if !volumes.Has(m.Name) {
			errs = append(errs, field.NotFound(mp.Child("name"), m.Name))
		}
		if len(m.MountPath) == 0 || m.MountPath[0] != '/' {
			errs = append(errs, field.Invalid(mp.Child("mountPath"), m.MountPath, "must be an absolute path"))
		}
		if mounts.Has(m.MountPath) {
			errs = append(errs, field.Duplicate(mp.Child("mountPath"), m.MountPath))
		}
		mounts.Insert(m.MountPath)
	}
	errs = append(errs, probe(c.StartupProbe, ports, path.Child("startupProbe"))...)
	errs = append(errs, probe(c.ReadinessProbe, ports, path.Child("readinessProbe"))...)
	errs = append(errs, probe(c.LivenessProbe, ports, path.Child("livenessProbe"))...)
	if c.Lifecycle != nil {
		for name, h := range map[string]*corev1.LifecycleHandler{"preStop": c.Lifecycle.PreStop, "postStart": c.Lifecycle.PostStart} {
			if h == nil {
				continue
			}
			hp := path.Child("lifecycle", name)
			errs = append(errs, oneOf(hp, h.Exec != nil, h.HTTPGet != nil, h.TCPSocket != nil, h.Sleep != nil)...)
			if h.Sleep != nil && h.Sleep.Seconds < 0 {
				errs = append(errs, field.Invalid(hp.Child("sleep", "seconds"), h.Sleep.Seconds, "must be >= 0"))
			}
		}
	}
	errs = append(errs, requestsWithinLimits(c.Resources, path.Child("resources"))...)
	return errs
}

func probe(p *corev1.Probe, ports sets.Set[string], path *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	h := p.ProbeHandler
	errs := oneOf(path, h.Exec != nil, h.HTTPGet != nil, h.TCPSocket != nil, h.GRPC != nil)
	if h.GRPC != nil {
		errs = append(errs, portNumber(path.Child("grpc", "port"), int(h.GRPC.Port))...)
	}
	if h.HTTPGet != nil && h.HTTPGet.Port.Type == intstr.String && !ports.Has(h.HTTPGet.Port.StrVal) {
		errs = append(errs, field.NotFound(path.Child("httpGet", "port"), h.HTTPGet.Port.StrVal))
	}
	for name, v := range map[string]int32{"periodSeconds": p.PeriodSeconds, "timeoutSeconds": p.TimeoutSeconds, "failureThreshold": p.FailureThreshold} {
		if v < 0 {
			errs = append(errs, field.Invalid(path.Child(name), v, "must be >= 0"))
		}
	}
	return errs
}

func requestsWithinLimits(r corev1.ResourceRequirements, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for name, req := range r.Requests {
		if lim, ok := r.Limits[name]; ok && req.Cmp(lim) > 0 {
			errs = append(errs, field.Invalid(path.Child("requests").Key(string(name)), req.String(), fmt.Sprintf("must be less than or equal to the limit %s", lim.String())))
		}
	}
	for name, q := range r.Limits {
		if q.Sign() < 0 {
			errs = append(errs, field.Invalid(path.Child("limits").Key(string(name)), q.String(), "must be >= 0"))
		}
	}
	return errs
}

func checkService(s *corev1.Service) field.ErrorList {
	errs := objectMeta(&s.ObjectMeta, serviceName)
	spec := field.NewPath("spec")
	switch s.Spec.Type {
	case "", corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
	default:
		errs = append(errs, field.NotSupported(spec.Child("type"), s.Spec.Type, []string{"ClusterIP", "NodePort", "LoadBalancer"}))
	}
	if ip := s.Spec.ClusterIP; ip != "" && ip != corev1.ClusterIPNone {
		errs = append(errs, validation.IsValidIP(spec.Child("clusterIP"), ip)...)
	}
	if len(s.Spec.Ports) == 0 {
		errs = append(errs, field.Required(spec.Child("ports"), ""))
	}
	names := sets.New[string]()
	for i, p := range s.Spec.Ports {
		pp := spec.Child("ports").Index(i)
		if len(s.Spec.Ports) > 1 && p.Name == "" {
			errs = append(errs, field.Required(pp.Child("name"), "every port of a multi-port Service is named"))
		}
		if p.Name != "" {
			errs = append(errs, dnsLabel(pp.Child("name"), p.Name)...)
			if names.Has(p.Name) {
				errs = append(errs, field.Duplicate(pp.Child("name"), p.Name))
			}
			names.Insert(p.Name)
		}
		errs = append(errs, portNumber(pp.Child("port"), int(p.Port))...)
		errs = append(errs, protocol(pp.Child("protocol"), p.Protocol)...)
		if p.TargetPort.Type == intstr.String {
			errs = append(errs, portName(pp.Child("targetPort"), p.TargetPort.StrVal)...)
		} else if p.TargetPort.IntVal != 0 {
			errs = append(errs, portNumber(pp.Child("targetPort"), int(p.TargetPort.IntVal))...)
		}
	}
	return append(errs, objectMeta(&metav1.ObjectMeta{Name: "selector", Namespace: "x", Labels: s.Spec.Selector}, subdomainName)...)
}

func checkHPA(h *autoscalingv2.HorizontalPodAutoscaler) field.ErrorList {
	errs := objectMeta(&h.ObjectMeta, subdomainName)
	spec := field.NewPath("spec")
	ref := h.Spec.ScaleTargetRef
	if ref.Kind == "" || ref.Name == "" {
		errs = append(errs, field.Required(spec.Child("scaleTargetRef"), "kind and name"))
	}
	minR := int32(1)
	if h.Spec.MinReplicas != nil {
		minR = *h.Spec.MinReplicas
	}
	if minR < 1 {
		errs = append(errs, field.Invalid(spec.Child("minReplicas"), minR, "must be >= 1 (0 needs the HPAScaleToZero feature gate)"))
	}
	if h.Spec.MaxReplicas < minR {
		errs = append(errs, field.Invalid(spec.Child("maxReplicas"), h.Spec.MaxReplicas, "must be >= minReplicas"))
	}
	for i, m := range h.Spec.Metrics {
		mp := spec.Child("metrics").Index(i)
		switch m.Type {
		case autoscalingv2.ResourceMetricSourceType:
			if m.Resource == nil {
				errs = append(errs, field.Required(mp.Child("resource"), ""))
			} else {
				errs = append(errs, metricTarget(m.Resource.Target, mp.Child("resource", "target"))...)
			}
		case autoscalingv2.PodsMetricSourceType:
			if m.Pods == nil {
				errs = append(errs, field.Required(mp.Child("pods"), ""))
			} else {
				if m.Pods.Metric.Name == "" {
					errs = append(errs, field.Required(mp.Child("pods", "metric", "name"), ""))
				}
				if m.Pods.Target.Type != autoscalingv2.AverageValueMetricType {
					errs = append(errs, field.NotSupported(mp.Child("pods", "target", "type"), m.Pods.Target.Type, []string{"AverageValue"}))
				}
				errs = append(errs, metricTarget(m.Pods.Target, mp.Child("pods", "target"))...)
			}
		case autoscalingv2.ObjectMetricSourceType, autoscalingv2.ExternalMetricSourceType, autoscalingv2.ContainerResourceMetricSourceType:
		default:
			errs = append(errs, field.NotSupported(mp.Child("type"), m.Type, []string{"Resource", "Pods", "Object", "External", "ContainerResource"}))
		}
	}
	if b := h.Spec.Behavior; b != nil {
		for name, r := range map[string]*autoscalingv2.HPAScalingRules{"scaleUp": b.ScaleUp, "scaleDown": b.ScaleDown} {
			if r == nil {
				continue
			}
			rp := spec.Child("behavior", name)
			if w := r.StabilizationWindowSeconds; w != nil && (*w < 0 || *w > 3600) {
				errs = append(errs, field.Invalid(rp.Child("stabilizationWindowSeconds"), *w, "must be within 0..3600"))
			}
			for j, p := range r.Policies {
				pp := rp.Child("policies").Index(j)
				if p.Type != autoscalingv2.PodsScalingPolicy && p.Type != autoscalingv2.PercentScalingPolicy {
					errs = append(errs, field.NotSupported(pp.Child("type"), p.Type, []string{"Pods", "Percent"}))
				}
				if p.Value <= 0 {
					errs = append(errs, field.Invalid(pp.Child("value"), p.Value, "must be > 0"))
				}
				if p.PeriodSeconds <= 0 || p.PeriodSeconds > 1800 {
					errs = append(errs, field.Invalid(pp.Child("periodSeconds"), p.PeriodSeconds, "must be within 1..1800"))
				}
			}
		}
	}
	return errs
}

func metricTarget(t autoscalingv2.MetricTarget, path *field.Path) field.ErrorList {
	switch t.Type {
	case autoscalingv2.UtilizationMetricType:
		if t.AverageUtilization == nil || *t.AverageUtilization < 1 {
			return field.ErrorList{field.Required(path.Child("averageUtilization"), "a positive percentage")}
		}
	case autoscalingv2.AverageValueMetricType:
		if t.AverageValue == nil || t.AverageValue.Sign() <= 0 {
			return field.ErrorList{field.Required(path.Child("averageValue"), "a positive quantity")}
		}
	case autoscalingv2.ValueMetricType:
		if t.Value == nil || t.Value.Sign() <= 0 {
			return field.ErrorList{field.Required(path.Child("value"), "a positive quantity")}
		}
	default:
		return field.ErrorList{field.NotSupported(path.Child("type"), t.Type, []string{"Utilization", "AverageValue", "Value"})}
	}
	return nil
}

func checkPDB(p *policyv1.PodDisruptionBudget) field.ErrorList {
	errs := objectMeta(&p.ObjectMeta, subdomainName)
	spec := field.NewPath("spec")
	if (p.Spec.MinAvailable == nil) == (p.Spec.MaxUnavailable == nil) {
		errs = append(errs, field.Invalid(spec, "", "exactly one of minAvailable and maxUnavailable"))
	}
	for name, v := range map[string]*intstr.IntOrString{"minAvailable": p.Spec.MinAvailable, "maxUnavailable": p.Spec.MaxUnavailable} {
		if v == nil {
			continue
		}
		if v.Type == intstr.String {
			for _, msg := range validation.IsValidPercent(v.StrVal) {
				errs = append(errs, field.Invalid(spec.Child(name), v.StrVal, msg))
			}
		} else if v.IntVal < 0 {
			errs = append(errs, field.Invalid(spec.Child(name), v.IntVal, "must be >= 0"))
		}
	}
	return append(errs, selector(p.Spec.Selector, true, spec.Child("selector"))...)
}

func checkNetworkPolicy(n *networkingv1.NetworkPolicy) field.ErrorList {
	errs := objectMeta(&n.ObjectMeta, subdomainName)
	spec := field.NewPath("spec")
	errs = append(errs, selector(&n.Spec.PodSelector, false, spec.Child("podSelector"))...)
	for i, t := range n.Spec.PolicyTypes {
		if t != networkingv1.PolicyTypeIngress && t != networkingv1.PolicyTypeEgress {
			errs = append(errs, field.NotSupported(spec.Child("policyTypes").Index(i), t, []string{"Ingress", "Egress"}))
		}
	}
	for i, rule := range n.Spec.Ingress {
		rp := spec.Child("ingress").Index(i)
		for j, p := range rule.Ports {
			pp := rp.Child("ports").Index(j)
			if p.Protocol != nil {
				errs = append(errs, protocol(pp.Child("protocol"), *p.Protocol)...)
			}
			if p.Port != nil {
				if p.Port.Type == intstr.String {
					errs = append(errs, portName(pp.Child("port"), p.Port.StrVal)...)
				} else {
					errs = append(errs, portNumber(pp.Child("port"), int(p.Port.IntVal))...)
				}
			}
		}
		for j, peer := range rule.From {
			pp := rp.Child("from").Index(j)
			selectors := peer.PodSelector != nil || peer.NamespaceSelector != nil
			if selectors == (peer.IPBlock != nil) {
				errs = append(errs, field.Invalid(pp, "", "a peer has selectors or an ipBlock"))
			}
			errs = append(errs, selector(peer.PodSelector, false, pp.Child("podSelector"))...)
			errs = append(errs, selector(peer.NamespaceSelector, false, pp.Child("namespaceSelector"))...)
		}
	}
	return errs
}

func checkConfigMap(c *corev1.ConfigMap) field.ErrorList {
	errs := objectMeta(&c.ObjectMeta, subdomainName)
	size := 0
	for k, v := range c.Data {
		for _, msg := range validation.IsConfigMapKey(k) {
			errs = append(errs, field.Invalid(field.NewPath("data").Key(k), k, msg))
		}
		size += len(k) + len(v)
	}
	// etcd's limit on one object, which the API server enforces for ConfigMaps.
	if size > 1024*1024 {
		errs = append(errs, field.TooLong(field.NewPath("data"), "", 1024*1024))
	}
	return errs
}

func checkServiceAccount(s *corev1.ServiceAccount) field.ErrorList {
	return objectMeta(&s.ObjectMeta, subdomainName)
}

func dnsLabel(path *field.Path, v string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(v) {
		errs = append(errs, field.Invalid(path, v, msg))
	}
	return errs
}

func portName(path *field.Path, v string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsValidPortName(v) {
		errs = append(errs, field.Invalid(path, v, msg))
	}
	return errs
}

func portNumber(path *field.Path, v int) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsValidPortNum(v) {
		errs = append(errs, field.Invalid(path, v, msg))
	}
	return errs
}

func protocol(path *field.Path, p corev1.Protocol) field.ErrorList {
	switch p {
	case "", corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return nil
	}
	return field.ErrorList{field.NotSupported(path, p, []string{"TCP", "UDP", "SCTP"})}
}

func keyRef(path *field.Path, name, key string) field.ErrorList {
	var errs field.ErrorList
	if name == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	}
	for _, msg := range validation.IsConfigMapKey(key) {
		errs = append(errs, field.Invalid(path.Child("key"), key, msg))
	}
	return errs
}
