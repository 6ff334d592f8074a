package deploycheck

import (
	"encoding/json"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// cdcDatastore is the part of a model Datastore a Debezium connector must agree with.
type cdcDatastore struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Capture struct {
			KafkaCdc *struct {
				Format      string            `yaml:"format"`
				TopicPrefix string            `yaml:"topicPrefix"`
				Topics      map[string]string `yaml:"topics"`
			} `yaml:"kafkaCdc"`
		} `yaml:"capture"`
		Datasets []struct {
			Name string `yaml:"name"`
		} `yaml:"datasets"`
	} `yaml:"spec"`
}

// topics are the Kafka topics the model reads a CDC datastore from (spec/model.md §4.10:
// topics[dataset], default <topicPrefix>.<dataset>).
func (d cdcDatastore) topics() []string {
	var out []string
	for _, ds := range d.Spec.Datasets {
		t, ok := d.Spec.Capture.KafkaCdc.Topics[ds.Name]
		if !ok {
			t = d.Spec.Capture.KafkaCdc.TopicPrefix + "." + ds.Name
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// exampleCDCDatastores reads the kafkaCdc Datastores of examples/acme.
func exampleCDCDatastores(t *testing.T) map[string]cdcDatastore {
	t.Helper()
	out := map[string]cdcDatastore{}
	root := filepath.Join(repoRoot, "examples", "acme")
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var d cdcDatastore
		if err := yaml.Unmarshal(b, &d); err != nil {
			return nil // not every file is one document of this shape
		}
		if d.Kind == "Datastore" && d.Spec.Capture.KafkaCdc != nil {
			out[d.Metadata.Name] = d
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCDCConnectors: every Debezium connector in deploy/cdc produces exactly the topics a CDC
// datastore of the example model reads (Debezium names a topic <topic.prefix>.<schema>.<table>),
// in the JSON format ingest decodes, and takes its login from secrets mounted into the stack's
// kafka-connect service.
func TestCDCConnectors(t *testing.T) {
	stores := exampleCDCDatastores(t)
	if len(stores) == 0 {
		t.Fatal("examples/acme has no kafkaCdc datastore")
	}
	files, err := filepath.Glob(filepath.Join(repoRoot, "deploy", "cdc", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no connector in deploy/cdc (%v)", err)
	}
	p := loadStack(t)
	connect, ok := p.Services["kafka-connect"]
	if !ok {
		t.Fatal("the stack has no kafka-connect service")
	}
	mounted := map[string]bool{}
	for _, s := range connect.Secrets {
		mounted[secretPath(s)] = true
	}
	k8sMounted := kafkaConnectSecretFiles(t)
	dirRef := regexp.MustCompile(`^\$\{dir:([^:}]+):([^}]+)\}$`)
	for _, f := range files {
		name := filepath.Base(f)
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Name   string            `json:"name"`
			Config map[string]string `json:"config"`
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if c.Config["connector.class"] != "io.debezium.connector.postgresql.PostgresConnector" {
			t.Errorf("%s: connector.class %q, want the Debezium PostgreSQL connector", name, c.Config["connector.class"])
		}
		for _, k := range []string{"key.converter", "value.converter"} {
			if c.Config[k] != "org.apache.kafka.connect.json.JsonConverter" {
				t.Errorf("%s: %s %q, want JsonConverter (DEBEZIUM_POSTGRES_JSON)", name, k, c.Config[k])
			}
		}
		var topics []string
		for tbl := range strings.SplitSeq(c.Config["table.include.list"], ",") {
			if tbl = strings.TrimSpace(tbl); tbl != "" {
				topics = append(topics, c.Config["topic.prefix"]+"."+tbl)
			}
		}
		slices.Sort(topics)
		match := ""
		for n, d := range stores {
			if slices.Equal(d.topics(), topics) {
				match = n
				if d.Spec.Capture.KafkaCdc.Format != "DEBEZIUM_POSTGRES_JSON" {
					t.Errorf("%s: datastore %s has format %q", name, n, d.Spec.Capture.KafkaCdc.Format)
				}
			}
		}
		if match == "" {
			var have []string
			for n, d := range stores {
				have = append(have, n+": "+strings.Join(d.topics(), ","))
			}
			t.Errorf("%s produces topics %v, which no CDC datastore of the example reads (%v)", name, topics, have)
		}
		for _, k := range []string{"database.user", "database.password"} {
			m := dirRef.FindStringSubmatch(c.Config[k])
			if m == nil {
				t.Errorf("%s: %s must come from a mounted secret (${dir:/run/secrets/…:key}), not the file", name, k)
				continue
			}
			file := path.Join(m[1], m[2])
			if !mounted[file] {
				t.Errorf("%s: %s reads %s, which is not a secret mounted in the stack's kafka-connect (%v)", name, k, file, sortedKeys(mounted))
			}
			if !k8sMounted[file] {
				t.Errorf("%s: %s reads %s, which is not a Secret file mounted in the kafka-connect Deployment (%v)", name, k, file, sortedKeys(k8sMounted))
			}
		}
	}
}

// kafkaConnectSecretFiles lists the files Secret volumes put into the kafka-connect containers
// of the dev render.
func kafkaConnectSecretFiles(t *testing.T) map[string]bool {
	t.Helper()
	r := build(t, "deploy/k8s/overlays/dev")
	out := map[string]bool{}
	for _, p := range r.pods {
		if p.workload != "Deployment/kafka-connect" {
			continue
		}
		items := map[string][]string{}
		for _, v := range p.spec.Volumes {
			if v.Secret == nil {
				continue
			}
			for _, it := range v.Secret.Items {
				items[v.Name] = append(items[v.Name], it.Path)
			}
		}
		for _, c := range p.spec.Containers {
			for _, vm := range c.VolumeMounts {
				for _, f := range items[vm.Name] {
					out[path.Join(vm.MountPath, f)] = true
				}
			}
		}
	}
	if len(out) == 0 {
		t.Error("the dev render has no kafka-connect Deployment with Secret files")
	}
	return out
}
