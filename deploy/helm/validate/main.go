// Command validate checks rendered Kubernetes manifests offline: every document is decoded
// strictly (unknown or duplicate fields, wrong types and case mismatches are errors) into the Go
// type its apiVersion and kind name, then checked for what the API server would refuse that a
// decoder cannot see (names, labels, selectors, ports, references inside the object). Kinds it
// has no type for are errors too, so nothing passes unchecked.
//
// Types come from pinned Go modules (go.mod): k8s.io/api for the built-in kinds, the Prometheus
// Operator's, Gateway API's and Istio's published API modules for their resources, and structs in
// envoygateway.go, written from Envoy Gateway's API reference, for its two kinds.
//
// Usage: validate [-json] [file ...]   (no file: standard input; "-" also reads it)
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Document is one manifest and what came of checking it.
type Document struct {
	// Source is the file and, for `helm template` output, the template the document came from.
	Source     string   `json:"source"`
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Name       string   `json:"name"`
	Namespace  string   `json:"namespace,omitempty"`
	Errors     []string `json:"errors,omitempty"`
}

type report struct {
	Documents []Document `json:"documents"`
	Errors    int        `json:"errors"`
}

func main() {
	asJSON := flag.Bool("json", false, "print a JSON report instead of text")
	flag.Parse()
	inputs := flag.Args()
	if len(inputs) == 0 {
		inputs = []string{"-"}
	}
	var r report
	for _, in := range inputs {
		docs, err := readInput(in)
		if err != nil {
			fmt.Fprintf(os.Stderr, "validate: %v\n", err)
			os.Exit(2)
		}
		for _, d := range docs {
			r.Documents = append(r.Documents, d)
			r.Errors += len(d.Errors)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(r)
	} else {
		for _, d := range r.Documents {
			for _, e := range d.Errors {
				fmt.Printf("%s: %s/%s: %s\n", d.Source, d.Kind, d.Name, e)
			}
		}
		fmt.Printf("%d documents, %d errors\n", len(r.Documents), r.Errors)
	}
	if r.Errors > 0 || len(r.Documents) == 0 {
		os.Exit(1)
	}
}

func readInput(name string) ([]Document, error) {
	var src io.Reader = os.Stdin
	label := "<stdin>"
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		src, label = f, name
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(src))
	var out []Document
	for i := 1; ; i++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", label, i, err)
		}
		if d, ok := checkDocument(raw, fmt.Sprintf("%s#%d%s", label, i, helmSource(raw))); ok {
			out = append(out, d)
		}
	}
}

// helmSource is " (templates/x.yaml)" for a document `helm template` marked with its template.
func helmSource(raw []byte) string {
	for _, line := range strings.Split(string(raw), "\n") {
		if s, ok := strings.CutPrefix(line, "# Source: "); ok {
			return " (" + strings.TrimSpace(s) + ")"
		}
	}
	return ""
}

// checkDocument decodes and checks one document; false for an empty one (only comments).
func checkDocument(raw []byte, source string) (Document, bool) {
	d := Document{Source: source}
	js, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		d.Errors = []string{"not valid YAML: " + err.Error()}
		return d, true
	}
	if js = bytes.TrimSpace(js); len(js) == 0 || string(js) == "null" {
		return d, false
	}
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(js, &head); err != nil {
		d.Errors = []string{"not an object: " + err.Error()}
		return d, true
	}
	d.APIVersion, d.Kind, d.Name, d.Namespace = head.APIVersion, head.Kind, head.Metadata.Name, head.Metadata.Namespace
	check, ok := kinds[head.APIVersion+"/"+head.Kind]
	if !ok {
		d.Errors = []string{fmt.Sprintf("no schema for apiVersion %q kind %q (add one to deploy/helm/validate)", head.APIVersion, head.Kind)}
		return d, true
	}
	d.Errors = check(js)
	return d, true
}
