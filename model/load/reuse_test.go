package load

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/datasurface/datasurface/model/problem"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// copyDir copies the model files of src into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sameResult checks that a load with Reuse equals the same load without it, source map included.
func sameResult(t *testing.T, want, got *Result) {
	t.Helper()
	if diff := cmp.Diff(want.Model, got.Model, protocmp.Transform()); diff != "" {
		t.Errorf("model (-fresh +reused):\n%s", diff)
	}
	if diff := cmp.Diff(reduce(want.Problems), reduce(got.Problems)); diff != "" {
		t.Errorf("problems (-fresh +reused):\n%s", diff)
	}
	if want.Digest != got.Digest || !cmp.Equal(want.Files, got.Files) {
		t.Errorf("digest/files differ: %s %v, %s %v", want.Digest, want.Files, got.Digest, got.Files)
	}
	if diff := cmp.Diff(want.UnknownFields, got.UnknownFields); diff != "" {
		t.Errorf("unknown fields (-fresh +reused):\n%s", diff)
	}
	compareSourceMaps(t, want.Source, got.Source, "datastore[SalesDB]/dataset[orders]#partitionKey")
}

func TestReuse(t *testing.T) {
	baseDir := "testdata/spec-example"
	headDir := copyDir(t, baseDir)
	// Change one file; the others are byte-identical.
	editFile(t, filepath.Join(headDir, "europe/sales/salesdb.yaml"), "name: orders", "name: orders\n      documentation: changed")
	base, err := Dir(baseDir, Options{Side: problem.Base, Lenient: true})
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := Dir(headDir, Options{Side: problem.Head})
	if err != nil {
		t.Fatal(err)
	}
	reused, err := Dir(headDir, Options{Side: problem.Head, Reuse: base})
	if err != nil {
		t.Fatal(err)
	}
	sameResult(t, fresh, reused)

	// Unchanged objects are the base's objects; changed ones are new.
	storeOf := func(m *modelv1.Model, name string) *modelv1.Datastore {
		for _, d := range m.GetDatastores() {
			if d.GetName() == name {
				return d
			}
		}
		t.Fatalf("no datastore %s", name)
		return nil
	}
	if storeOf(base.Model, "SalesSummary") != storeOf(reused.Model, "SalesSummary") {
		t.Error("an unchanged datastore was decoded again")
	}
	if storeOf(base.Model, "SalesDB") == storeOf(reused.Model, "SalesDB") {
		t.Error("a changed datastore was reused")
	}
	if base.Model.GetEcosystem() != reused.Model.GetEcosystem() || base.Model.GetWorkspaces()[0] != reused.Model.GetWorkspaces()[0] {
		t.Error("unchanged documents were decoded again")
	}
	// Positions from reused documents report the head's side; the base's still report base.
	if p := reused.Source.Pos("datastore[SalesSummary]/dataset[customer_totals]"); p.Side != problem.Head || p.IsZero() {
		t.Errorf("reused position %v", p)
	}
	if p := base.Source.Pos("datastore[SalesSummary]/dataset[customer_totals]"); p.Side != problem.Base || p.IsZero() {
		t.Errorf("base position %v", p)
	}

	// A chain of reuse: the reused head can serve as Reuse in turn.
	again, err := Dir(headDir, Options{Side: problem.Head, Reuse: reused})
	if err != nil {
		t.Fatal(err)
	}
	sameResult(t, fresh, again)
	if storeOf(again.Model, "SalesDB") != storeOf(reused.Model, "SalesDB") {
		t.Error("the changed datastore was not reused from the previous head")
	}
}

// Files of the base that had problems or unknown fields (a lenient base skips them), or that
// moved, are decoded again, so the head reports exactly what a fresh load reports.
func TestReuseOnlyCleanFiles(t *testing.T) {
	files := map[string]string{
		"eco.yaml":     ecoDoc,
		"unknown.yaml": "apiVersion: datasurface/v1\nkind: Team\nmetadata: {name: U, zone: Z}\nspec: {colour: red}\n",
		"broken.yaml":  "apiVersion: datasurface/v1\nkind: Team\nmetadata: {name: T}\nspec: {}\n",
		"ok.yaml":      "apiVersion: datasurface/v1\nkind: Team\nmetadata: {name: T, zone: Z}\nspec: {}\n",
	}
	base := loadFiles(t, files, Options{Side: problem.Base, Lenient: true})
	if len(base.UnknownFields) != 1 || len(base.Problems) != 1 {
		t.Fatalf("base: unknown %v problems %v", base.UnknownFields, reduce(base.Problems))
	}
	head := map[string]string{"moved/ok.yaml": files["ok.yaml"]}
	for p, c := range files {
		if p != "ok.yaml" {
			head[p] = c
		}
	}
	fresh := loadFiles(t, head, Options{})
	reused := loadFiles(t, head, Options{Reuse: base})
	sameResult(t, fresh, reused)
	if len(reused.Problems) != 2 {
		t.Errorf("problems %v", reduce(reused.Problems))
	}
	if reused.Model.GetEcosystem() != base.Model.GetEcosystem() {
		t.Error("the unchanged ecosystem was decoded again")
	}
	for _, bt := range base.Model.GetTeams() {
		for _, ht := range reused.Model.GetTeams() {
			if bt == ht {
				t.Errorf("team %s was reused: moved, or with unknown fields in the base", ht.GetName())
			}
		}
	}
}
