package deploy

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// The kinds a Floe manifest may hold, each decoded into its official type.
// Anything else (a kind of another group or version, a typo) fails.
var allowedKinds = map[schema.GroupVersionKind]bool{
	appsv1.SchemeGroupVersion.WithKind("Deployment"):            true,
	appsv1.SchemeGroupVersion.WithKind("StatefulSet"):           true,
	corev1.SchemeGroupVersion.WithKind("Service"):               true,
	corev1.SchemeGroupVersion.WithKind("ConfigMap"):             true,
	corev1.SchemeGroupVersion.WithKind("Secret"):                true,
	corev1.SchemeGroupVersion.WithKind("ServiceAccount"):        true,
	policyv1.SchemeGroupVersion.WithKind("PodDisruptionBudget"): true,
	networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"):   true,
	networkingv1.SchemeGroupVersion.WithKind("Ingress"):         true,
	batchv1.SchemeGroupVersion.WithKind("Job"):                  true,
}

// strictDecoder decodes YAML into the registered official types, failing on
// an unknown or duplicated field (case-sensitively) and on an unregistered kind.
var strictDecoder = func() runtime.Decoder {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		appsv1.AddToScheme, corev1.AddToScheme, policyv1.AddToScheme, networkingv1.AddToScheme, batchv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme,
		json.SerializerOptions{Yaml: true, Strict: true})
}()

// object is one decoded document.
type object struct {
	where string // the template it came from and its place in the stream
	gvk   schema.GroupVersionKind
	obj   runtime.Object
	meta  metav1.Object
}

func (o object) String() string {
	return fmt.Sprintf("%s %s (%s)", o.gvk.Kind, o.meta.GetName(), o.where)
}

// decodeStream splits a YAML stream into documents and decodes each strictly.
func decodeStream(stream []byte) ([]object, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(stream)))
	var (
		out  []object
		errs []error
	)
	for n := 1; ; n++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		where, empty := fmt.Sprintf("document %d", n), true
		for line := range strings.Lines(string(doc)) {
			line = strings.TrimSpace(line)
			if src, ok := strings.CutPrefix(line, "# Source: "); ok {
				where = fmt.Sprintf("%s, document %d", src, n)
			}
			if line != "" && !strings.HasPrefix(line, "#") && line != "---" {
				empty = false
			}
		}
		if empty {
			continue
		}
		o, err := decodeDocument(doc)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		o.where = where
		out = append(out, o)
	}
	return out, errors.Join(errs...)
}

func decodeDocument(doc []byte) (object, error) {
	obj, gvk, err := strictDecoder.Decode(doc, nil, nil)
	if err != nil {
		return object{}, err // strict errors (unknown, duplicate fields) included
	}
	if !allowedKinds[*gvk] {
		return object{}, fmt.Errorf("kind %s is not one a Floe manifest holds", gvk)
	}
	m, err := metaOf(obj)
	if err != nil {
		return object{}, err
	}
	return object{gvk: *gvk, obj: obj, meta: m}, nil
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no object metadata", obj)
	}
	return m, nil
}

// TestDecoderIsStrict shows what the decoder refuses, so that the chart
// checks below can be trusted to catch the same mistakes.
func TestDecoderIsStrict(t *testing.T) {
	good := "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n    - port: 80\n"
	if _, err := decodeStream([]byte(good)); err != nil {
		t.Fatalf("a valid Service: %v", err)
	}
	for name, doc := range map[string]string{
		"misspelt field":             strings.Replace(good, "  ports:", "  prots:", 1),
		"field of wrong case":        strings.Replace(good, "- port: 80", "- Port: 80", 1),
		"duplicate field":            good + "  type: ClusterIP\n  type: NodePort\n",
		"unknown kind":               strings.Replace(good, "kind: Service", "kind: Servise", 1),
		"kind of another group":      "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata:\n  name: x\n",
		"wrong version":              strings.Replace(good, "apiVersion: v1", "apiVersion: v2", 1),
		"wrong type":                 strings.Replace(good, "port: 80", "port: eighty", 1),
		"registered kind not listed": "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n",
	} {
		if _, err := decodeStream([]byte(doc)); err == nil {
			t.Errorf("%s: decoded without error:\n%s", name, doc)
		}
	}
	bad := "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          resources:\n            requests:\n              memory: 12 GiB\n"
	if _, err := decodeStream([]byte(bad)); err == nil {
		t.Errorf("a malformed quantity decoded without error")
	}
}
