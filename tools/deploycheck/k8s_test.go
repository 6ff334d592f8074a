package deploycheck

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizations are the directories `kubectl apply -k` is pointed at, and whether Secrets
// they reference may be external (from externalSecrets) rather than in the render.
// A complete render holds every workload (base and deps), so network policy peers and the
// default deny are checked there.
var kustomizations = []struct {
	dir           string
	externalOK    bool
	selfContained bool // every referenced Secret and ConfigMap is in the render
	complete      bool
	namespace     string
}{
	{dir: "deploy/k8s/base", externalOK: true},
	{dir: "deploy/k8s/deps", externalOK: true},
	{dir: "deploy/k8s/cdc", externalOK: true},
	{dir: "deploy/k8s/overlays/dev", selfContained: true, complete: true, namespace: "datasurface-dev"},
	{dir: "deploy/k8s/overlays/prod", externalOK: true, complete: true, namespace: "datasurface"},
}

// pod is the pod template of a workload in a render.
type pod struct {
	workload  string // Kind/name
	namespace string
	labels    map[string]string
	spec      *corev1.PodSpec
}

// render is one kustomization built and decoded into typed objects.
type render struct {
	dir        string
	objects    []runtime.Object
	pods       []pod
	services   []*corev1.Service
	policies   []*networkingv1.NetworkPolicy
	secrets    map[string][]string // name → keys
	configMaps map[string]map[string]string
}

// build runs kustomize on dir (krusty, the library of kustomize v5.8.2) and decodes every
// document strictly with client-go's scheme: unknown kinds, unknown fields, wrong types and
// duplicate keys fail.
func build(t *testing.T, dir string) *render {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(repoRoot, dir))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	dec := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	r := &render{dir: dir, secrets: map[string][]string{}, configMaps: map[string]map[string]string{}}
	for _, res := range m.Resources() {
		y, err := res.AsYAML()
		if err != nil {
			t.Fatalf("%s: %s: %v", dir, res.CurId(), err)
		}
		obj, gvk, err := dec.Decode(y, nil, nil)
		if err != nil {
			t.Errorf("%s: %s does not decode strictly: %v", dir, res.CurId(), err)
			continue
		}
		if gvk.Kind == "" {
			t.Errorf("%s: %s has no kind", dir, res.CurId())
			continue
		}
		r.add(obj)
	}
	if len(r.objects) == 0 {
		t.Fatalf("%s renders nothing", dir)
	}
	return r
}

func (r *render) add(obj runtime.Object) {
	r.objects = append(r.objects, obj)
	addPod := func(kind string, meta metav1.ObjectMeta, tmpl *corev1.PodTemplateSpec) {
		r.pods = append(r.pods, pod{workload: kind + "/" + meta.Name, namespace: meta.Namespace, labels: tmpl.Labels, spec: &tmpl.Spec})
	}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		addPod("Deployment", o.ObjectMeta, &o.Spec.Template)
	case *appsv1.StatefulSet:
		addPod("StatefulSet", o.ObjectMeta, &o.Spec.Template)
	case *appsv1.DaemonSet:
		addPod("DaemonSet", o.ObjectMeta, &o.Spec.Template)
	case *batchv1.Job:
		addPod("Job", o.ObjectMeta, &o.Spec.Template)
	case *batchv1.CronJob:
		addPod("CronJob", o.ObjectMeta, &o.Spec.JobTemplate.Spec.Template)
	case *corev1.Service:
		r.services = append(r.services, o)
	case *networkingv1.NetworkPolicy:
		r.policies = append(r.policies, o)
	case *corev1.Secret:
		var keys []string
		for k := range o.Data {
			keys = append(keys, k)
		}
		for k := range o.StringData {
			keys = append(keys, k)
		}
		r.secrets[o.Name] = keys
	case *corev1.ConfigMap:
		data := map[string]string{}
		for k, v := range o.Data {
			data[k] = v
		}
		for k := range o.BinaryData {
			data[k] = ""
		}
		r.configMaps[o.Name] = data
	}
}

// matching returns the pods a selector selects (in the namespace of the selecting object).
func (r *render) matching(namespace string, sel labels.Selector) []pod {
	var out []pod
	for _, p := range r.pods {
		if p.namespace == namespace && sel.Matches(labels.Set(p.labels)) {
			out = append(out, p)
		}
	}
	return out
}

func TestKustomize(t *testing.T) {
	b := datasurfaceBinary(t)
	want := version(t)
	for _, kz := range kustomizations {
		t.Run(filepath.Base(kz.dir), func(t *testing.T) {
			r := build(t, kz.dir)
			checkNamespaces(t, r, kz.namespace)
			checkPods(t, r, b, kz.externalOK, want)
			checkServices(t, r)
			checkPolicies(t, r, kz.complete)
			if kz.selfContained {
				checkGeneratedSecrets(t, r)
			}
			if kz.dir != "deploy/k8s/deps" && kz.dir != "deploy/k8s/cdc" {
				checkEveryService(t, r, b)
			}
		})
	}
}

func checkNamespaces(t *testing.T, r *render, want string) {
	t.Helper()
	if want == "" {
		return
	}
	for _, o := range r.objects {
		m, err := metaOf(o)
		if err != nil {
			t.Error(err)
			continue
		}
		if _, isNS := o.(*corev1.Namespace); isNS {
			continue
		}
		if m.GetNamespace() != want {
			t.Errorf("%T %s is in namespace %q, want %q", o, m.GetName(), m.GetNamespace(), want)
		}
	}
}

func metaOf(o runtime.Object) (metav1.Object, error) {
	m, ok := o.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", o)
	}
	return m, nil
}

// checkPods checks every pod template: references, images, security, resources, and for the
// datasurface containers their arguments, environment and probes.
func checkPods(t *testing.T, r *render, b *binary, externalOK bool, wantTag string) {
	t.Helper()
	for _, p := range r.pods {
		where := p.workload
		s := p.spec
		if s.SecurityContext == nil || s.SecurityContext.RunAsNonRoot == nil || !*s.SecurityContext.RunAsNonRoot {
			t.Errorf("%s: pod securityContext.runAsNonRoot is not true", where)
		}
		for _, v := range s.Volumes {
			switch {
			case v.Secret != nil:
				var keys []string
				for _, it := range v.Secret.Items {
					keys = append(keys, it.Key)
				}
				checkSecretRef(t, r, externalOK, where+" volume "+v.Name, v.Secret.SecretName, keys...)
			case v.ConfigMap != nil:
				var keys []string
				for _, it := range v.ConfigMap.Items {
					keys = append(keys, it.Key)
				}
				checkConfigMapRef(t, r, where+" volume "+v.Name, v.ConfigMap.Name, keys...)
			case v.Projected != nil:
				for _, src := range v.Projected.Sources {
					if src.Secret != nil {
						checkSecretRef(t, r, externalOK, where+" volume "+v.Name, src.Secret.Name)
					}
					if src.ConfigMap != nil {
						checkConfigMapRef(t, r, where+" volume "+v.Name, src.ConfigMap.Name)
					}
				}
			}
		}
		for _, c := range slices.Concat(s.InitContainers, s.Containers) {
			where := p.workload + " container " + c.Name
			if err := checkPinned(c.Image); err != nil {
				t.Errorf("%s: %v", where, err)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() ||
				c.Resources.Limits.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("%s: cpu and memory requests and limits are not all set", where)
			}
			if c.SecurityContext == nil || c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation {
				t.Errorf("%s: securityContext.allowPrivilegeEscalation is not false", where)
			}
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					continue
				}
				if ref := e.ValueFrom.SecretKeyRef; ref != nil {
					checkSecretRef(t, r, externalOK, where+" env "+e.Name, ref.Name, ref.Key)
				}
				if ref := e.ValueFrom.ConfigMapKeyRef; ref != nil {
					checkConfigMapRef(t, r, where+" env "+e.Name, ref.Name, ref.Key)
				}
			}
			for _, ef := range c.EnvFrom {
				if ef.SecretRef != nil {
					checkSecretRef(t, r, externalOK, where+" envFrom", ef.SecretRef.Name)
				}
				if ef.ConfigMapRef != nil {
					checkConfigMapRef(t, r, where+" envFrom", ef.ConfigMapRef.Name)
				}
			}
			if isDatasurfaceImage(c.Image) {
				if _, tag, _ := imageRef(c.Image); tag != wantTag {
					t.Errorf("%s: datasurface image tag %q, want the VERSION %q", where, tag, wantTag)
				}
				checkDatasurfaceContainer(t, r, b, where, &c)
			}
		}
	}
}

// checkSecretRef requires the Secret in the render (with the keys), or, where external Secrets
// are allowed, in externalSecrets (with the keys).
func checkSecretRef(t *testing.T, r *render, externalOK bool, where, name string, keys ...string) {
	t.Helper()
	if have, ok := r.secrets[name]; ok {
		for _, k := range keys {
			if !slices.Contains(have, k) {
				t.Errorf("%s: Secret %s has no key %q (keys: %v)", where, name, k, have)
			}
		}
		return
	}
	want, ok := externalSecrets[name]
	if !externalOK || !ok {
		t.Errorf("%s: Secret %q is neither in the render nor an external Secret the docs list", where, name)
		return
	}
	if anyKeys(name) {
		return
	}
	for _, k := range keys {
		if !slices.Contains(want, k) {
			t.Errorf("%s: external Secret %s is documented without key %q (keys: %v)", where, name, k, want)
		}
	}
}

func checkConfigMapRef(t *testing.T, r *render, where, name string, keys ...string) {
	t.Helper()
	data, ok := r.configMaps[name]
	if !ok {
		t.Errorf("%s: ConfigMap %q is not in the render", where, name)
		return
	}
	for _, k := range keys {
		if _, ok := data[k]; !ok {
			t.Errorf("%s: ConfigMap %s has no key %q", where, name, k)
		}
	}
}

// checkDatasurfaceContainer checks a container of the datasurface image: its arguments use
// only flags the binary accepts, its environment only variables the subcommand reads, and a
// serve container has liveness (/healthz) and readiness (/readyz) probes on its listen port.
func checkDatasurfaceContainer(t *testing.T, r *render, b *binary, where string, c *corev1.Container) {
	t.Helper()
	if len(c.Command) > 0 {
		t.Errorf("%s: command %v replaces the image's entrypoint (datasurface); use args", where, c.Command)
	}
	cmd, flags, err := b.checkArgs(c.Args)
	if err != nil {
		t.Errorf("%s: args %v: %v", where, c.Args, err)
		return
	}
	env := map[string]string{}
	for _, e := range c.Env {
		if err := b.checkEnvName(cmd, e.Name, true); err != nil {
			t.Errorf("%s: env: %v", where, err)
		}
		env[e.Name] = e.Value
	}
	for _, ef := range c.EnvFrom {
		switch {
		case ef.ConfigMapRef != nil:
			for k, v := range r.configMaps[ef.ConfigMapRef.Name] {
				if err := b.checkEnvName(cmd, ef.Prefix+k, false); err != nil {
					t.Errorf("%s: envFrom ConfigMap %s: %v", where, ef.ConfigMapRef.Name, err)
				}
				if _, set := env[ef.Prefix+k]; !set {
					env[ef.Prefix+k] = v
				}
			}
		case ef.SecretRef != nil:
			name := ef.SecretRef.Name
			keys, inRender := r.secrets[name]
			if !inRender && !anyKeys(name) {
				t.Errorf("%s: envFrom Secret %s: only the model credentials Secret may be used whole", where, name)
			}
			for _, k := range keys {
				if err := b.checkEnvName(cmd, ef.Prefix+k, true); err != nil {
					t.Errorf("%s: envFrom Secret %s: %v", where, name, err)
				}
			}
		}
	}
	if cmd != "serve" {
		return
	}
	listen := env["DATASURFACE_LISTEN"]
	if v := flags["listen"]; len(v) > 0 {
		listen = v[len(v)-1]
	}
	_, portText, err := net.SplitHostPort(listen)
	if err != nil {
		t.Errorf("%s: listen address %q (--listen or DATASURFACE_LISTEN): %v", where, listen, err)
		return
	}
	port, _ := strconv.Atoi(portText)
	if !slices.ContainsFunc(c.Ports, func(p corev1.ContainerPort) bool { return int(p.ContainerPort) == port }) {
		t.Errorf("%s: listens on %d, which is not a declared container port", where, port)
	}
	checkProbe(t, where+" livenessProbe", c, c.LivenessProbe, "/healthz", port)
	checkProbe(t, where+" readinessProbe", c, c.ReadinessProbe, "/readyz", port)
	if c.StartupProbe != nil {
		checkProbe(t, where+" startupProbe", c, c.StartupProbe, "/healthz", port)
	}
}

func checkProbe(t *testing.T, where string, c *corev1.Container, p *corev1.Probe, path string, port int) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Errorf("%s: want an httpGet probe of %s", where, path)
		return
	}
	if p.HTTPGet.Path != path {
		t.Errorf("%s: path %q, want %q", where, p.HTTPGet.Path, path)
	}
	got, ok := containerPort(c, p.HTTPGet.Port)
	if !ok {
		t.Errorf("%s: port %s is not a port of the container", where, p.HTTPGet.Port.String())
	} else if got != port {
		t.Errorf("%s: port %d, but serve listens on %d", where, got, port)
	}
}

// containerPort resolves a port by name or number against a container's declared ports.
func containerPort(c *corev1.Container, port intstr.IntOrString) (int, bool) {
	for _, p := range c.Ports {
		if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
			return int(p.ContainerPort), true
		}
	}
	return 0, false
}

// checkServices: every selector selects a workload, every target port exists on the selected
// pods, and a StatefulSet's serviceName names a Service.
func checkServices(t *testing.T, r *render) {
	t.Helper()
	for _, s := range r.services {
		if len(s.Spec.Selector) == 0 {
			t.Errorf("Service %s has no selector", s.Name)
			continue
		}
		pods := r.matching(s.Namespace, labels.SelectorFromSet(s.Spec.Selector))
		if len(pods) == 0 {
			t.Errorf("Service %s: selector %v matches no workload's pod labels", s.Name, s.Spec.Selector)
			continue
		}
		for _, sp := range s.Spec.Ports {
			target := sp.TargetPort
			if target.Type == intstr.Int && target.IntVal == 0 {
				target = intstr.FromInt32(sp.Port)
			}
			for _, p := range pods {
				if !slices.ContainsFunc(p.spec.Containers, func(c corev1.Container) bool { _, ok := containerPort(&c, target); return ok }) {
					t.Errorf("Service %s port %s: target port %s is not a container port of %s", s.Name, sp.Name, target.String(), p.workload)
				}
			}
		}
	}
	for _, o := range r.objects {
		if ss, ok := o.(*appsv1.StatefulSet); ok && !slices.ContainsFunc(r.services, func(s *corev1.Service) bool { return s.Name == ss.Spec.ServiceName }) {
			t.Errorf("StatefulSet %s: serviceName %q is not a Service of the render", ss.Name, ss.Spec.ServiceName)
		}
	}
}

// checkPolicies: every non-empty pod selector of a NetworkPolicy (the policy's own, and in a
// complete render its peers') selects some pod; a complete render has a default deny for both
// directions.
func checkPolicies(t *testing.T, r *render, complete bool) {
	t.Helper()
	sel := func(where, ns string, ls *metav1.LabelSelector) {
		if ls == nil || (len(ls.MatchLabels) == 0 && len(ls.MatchExpressions) == 0) {
			return
		}
		s, err := metav1.LabelSelectorAsSelector(ls)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			return
		}
		if len(r.matching(ns, s)) == 0 {
			t.Errorf("%s: selector %s matches no pod", where, s)
		}
	}
	var defaultDeny bool
	for _, np := range r.policies {
		where := "NetworkPolicy " + np.Name
		sel(where+" podSelector", np.Namespace, &np.Spec.PodSelector)
		for i, in := range np.Spec.Ingress {
			for _, peer := range in.From {
				if complete && peer.NamespaceSelector == nil {
					sel(fmt.Sprintf("%s ingress[%d] from", where, i), np.Namespace, peer.PodSelector)
				}
			}
		}
		for i, out := range np.Spec.Egress {
			for _, peer := range out.To {
				if complete && peer.NamespaceSelector == nil {
					sel(fmt.Sprintf("%s egress[%d] to", where, i), np.Namespace, peer.PodSelector)
				}
			}
		}
		empty := len(np.Spec.PodSelector.MatchLabels) == 0 && len(np.Spec.PodSelector.MatchExpressions) == 0
		if empty && len(np.Spec.Ingress) == 0 && len(np.Spec.Egress) == 0 &&
			slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) &&
			slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
			defaultDeny = true
		}
	}
	if complete && !defaultDeny {
		t.Error("no default-deny NetworkPolicy (empty podSelector, Ingress and Egress, no rules)")
	}
}

// checkGeneratedSecrets: a self-contained overlay generates exactly the Secrets prod expects
// externally, with their keys, so dev and prod cannot drift apart.
func checkGeneratedSecrets(t *testing.T, r *render) {
	t.Helper()
	got := map[string]bool{}
	for name, keys := range r.secrets {
		base := name
		if i := strings.LastIndex(name, "-"); i > 0 {
			base = name[:i] // generated names carry a hash suffix
		}
		want, ok := externalSecrets[base]
		if !ok {
			t.Errorf("Secret %s is not one of the documented Secrets %v", name, sortedKeys(externalSecrets))
			continue
		}
		got[base] = true
		if want == nil {
			for _, k := range keys {
				if !credentialVar.MatchString(k) {
					t.Errorf("Secret %s: key %q is not a model credential variable", name, k)
				}
			}
			continue
		}
		if !slices.Equal(slices.Sorted(slices.Values(keys)), slices.Sorted(slices.Values(want))) {
			t.Errorf("Secret %s has keys %v, the documented %v", name, keys, want)
		}
	}
	for name := range externalSecrets {
		if !got[name] {
			t.Errorf("documented Secret %s is not generated", name)
		}
	}
}

// checkEveryService: each service serve knows runs in exactly one Deployment, and the migration
// Job runs `datasurface migrate`.
func checkEveryService(t *testing.T, r *render, b *binary) {
	t.Helper()
	count := map[string]int{}
	var migrate bool
	for _, p := range r.pods {
		for _, c := range p.spec.Containers {
			if !isDatasurfaceImage(c.Image) {
				continue
			}
			cmd, flags, err := b.checkArgs(c.Args)
			if err != nil {
				continue // reported by checkPods
			}
			switch {
			case cmd == "serve" && strings.HasPrefix(p.workload, "Deployment/"):
				for _, v := range flags["service"] {
					for s := range strings.SplitSeq(v, ",") {
						count[strings.TrimSpace(s)]++
					}
				}
			case cmd == "migrate" && strings.HasPrefix(p.workload, "Job/"):
				migrate = true
			}
		}
	}
	for _, s := range b.services {
		if count[s] != 1 {
			t.Errorf("service %s runs in %d Deployments, want 1", s, count[s])
		}
	}
	if !migrate {
		t.Error("no Job runs `datasurface migrate`")
	}
}
