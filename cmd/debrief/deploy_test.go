package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestDeployExamples holds the deployment examples in deploy/ to the
// configuration debrief reads: every replica's cluster settings pass
// LoadConfig, each names itself among the same peers, and the Kubernetes
// manifest keeps what a three-replica cluster needs (a parallel start, a
// headless service that publishes pods before they are ready, a
// disruption budget that keeps a quorum).
func TestDeployExamples(t *testing.T) {
	t.Run("compose", func(t *testing.T) {
		var compose struct {
			Services map[string]struct {
				Environment map[string]string `yaml:"environment"`
			} `yaml:"services"`
		}
		readYAML(t, "../../deploy/docker-compose.yml", &compose)
		if len(compose.Services) != 3 {
			t.Fatalf("%d services, want 3", len(compose.Services))
		}
		for name, svc := range compose.Services {
			env := svc.Environment
			env["DEBRIEF_API_TOKEN"] = "x"
			if env["DEBRIEF_CLUSTER_NAME"] != name {
				t.Errorf("%s: DEBRIEF_CLUSTER_NAME=%q, want the service's name", name, env["DEBRIEF_CLUSTER_NAME"])
			}
			if _, err := LoadConfig(getenv(env)); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
	t.Run("kubernetes", func(t *testing.T) {
		f, err := os.ReadFile("../../deploy/kubernetes.yml")
		if err != nil {
			t.Fatal(err)
		}
		docs := map[string]map[string]any{}
		dec := yaml.NewDecoder(bytes.NewReader(f))
		for {
			var d map[string]any
			if err := dec.Decode(&d); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			docs[d["kind"].(string)+"/"+d["metadata"].(map[string]any)["name"].(string)] = d
		}
		sts := docs["StatefulSet/debrief"]
		if sts == nil {
			t.Fatalf("no StatefulSet debrief in %v", docs)
		}
		spec := sts["spec"].(map[string]any)
		if spec["replicas"] != 3 || spec["podManagementPolicy"] != "Parallel" {
			t.Errorf("StatefulSet replicas %v, podManagementPolicy %v; want 3, Parallel", spec["replicas"], spec["podManagementPolicy"])
		}
		peers := docs["Service/"+spec["serviceName"].(string)]
		if peers == nil {
			t.Fatalf("the StatefulSet's serviceName %v is not a Service here", spec["serviceName"])
		}
		ps := peers["spec"].(map[string]any)
		if ps["clusterIP"] != "None" || ps["publishNotReadyAddresses"] != true {
			t.Errorf("peer service clusterIP %v, publishNotReadyAddresses %v; want None, true", ps["clusterIP"], ps["publishNotReadyAddresses"])
		}
		pdb := docs["PodDisruptionBudget/debrief"]
		if pdb == nil || pdb["spec"].(map[string]any)["minAvailable"] != 2 {
			t.Errorf("PodDisruptionBudget = %v, want minAvailable 2", pdb)
		}
		container := spec["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
		env := map[string]string{"DEBRIEF_API_TOKEN": "x"}
		for _, e := range container["env"].([]any) {
			e := e.(map[string]any)
			if v, ok := e["value"].(string); ok {
				env[e["name"].(string)] = v
			}
		}
		for i := range 3 {
			pod := "debrief-" + string(rune('0'+i))
			env["DEBRIEF_CLUSTER_NAME"] = pod // from metadata.name
			if _, err := LoadConfig(getenv(env)); err != nil {
				t.Errorf("pod %s: %v", pod, err)
			}
			if !strings.Contains(env["DEBRIEF_CLUSTER_PEERS"], pod+".debrief-peers.") {
				t.Errorf("pod %s is not reached through the peer service in %s", pod, env["DEBRIEF_CLUSTER_PEERS"])
			}
		}
	})
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	f, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(f, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
