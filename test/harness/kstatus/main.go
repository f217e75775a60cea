// kstatus reads one Kubernetes object, a JSON array of objects, or a List (`items`) on stdin and
// prints, as a JSON array in input order, what kstatus (sigs.k8s.io/cli-utils/pkg/kstatus/status)
// computes for each: its status (Current, InProgress, Failed, Terminating, Unknown, NotFound) and
// message. Exit 0 when every object was computed, 1 on bad input or a Compute error.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
)

type result struct {
	Kind       string             `json:"kind"`
	Name       string             `json:"name"`
	Namespace  string             `json:"namespace,omitempty"`
	Status     string             `json:"status"`
	Message    string             `json:"message"`
	Conditions []status.Condition `json:"conditions"`
}

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		fail("reading stdin: %v", err)
	}
	var raw any
	if err := json.Unmarshal(in, &raw); err != nil {
		fail("stdin is not JSON: %v", err)
	}
	var objs []map[string]any
	switch v := raw.(type) {
	case []any:
		objs = maps(v)
	case map[string]any:
		if items, ok := v["items"].([]any); ok {
			objs = maps(items)
		} else {
			objs = []map[string]any{v}
		}
	default:
		fail("stdin must be an object, an array of objects or a List")
	}
	out := make([]result, 0, len(objs))
	for i, o := range objs {
		// Round-trip through unstructured's own JSON decoding, so numbers are int64 as they
		// are for objects read from an apiserver.
		b, _ := json.Marshal(o)
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(b); err != nil {
			fail("object %d: %v", i, err)
		}
		r, err := status.Compute(u)
		if err != nil {
			fail("object %d (%s %s): kstatus: %v", i, u.GetKind(), u.GetName(), err)
		}
		conds := r.Conditions
		if conds == nil {
			conds = []status.Condition{}
		}
		out = append(out, result{Kind: u.GetKind(), Name: u.GetName(), Namespace: u.GetNamespace(),
			Status: r.Status.String(), Message: r.Message, Conditions: conds})
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fail("writing: %v", err)
	}
}

func maps(items []any) []map[string]any {
	out := make([]map[string]any, 0, len(items))
	for i, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			fail("item %d is not an object", i)
		}
		out = append(out, m)
	}
	return out
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kstatus: "+format+"\n", args...)
	os.Exit(1)
}
