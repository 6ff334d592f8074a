package security_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/kit/natsserver"
	"github.com/datasurface/datasurface/kit/opsbus"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/security"
	"github.com/datasurface/datasurface/services/security/internal/scram"
	"github.com/datasurface/datasurface/services/security/internal/securitytest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// fileStore switches every PSP of m to a file credential store under root and writes the merge
// and security credentials there.
func fileStore(t *testing.T, m *modelv1.Model, root string) {
	t.Helper()
	for _, p := range m.GetPsps() {
		p.CredentialStore = &modelv1.CredentialStore{Kind: &modelv1.CredentialStore_File{File: &modelv1.FileCredentialStore{Root: root}}}
	}
	for name, user := range map[string]string{"YELLOWLIVE_MERGE": mergeLive, "YELLOWFORENSIC_MERGE": mergeForensic} {
		if err := os.MkdirAll(filepath.Join(root, name), 0o700); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(root, name, "user"), user+"\n")
		write(t, filepath.Join(root, name, "password"), "unused\n")
	}
}

func (f *fixture) verifier(role string) string {
	var v *string
	if err := f.env.Admin.QueryRow(context.Background(), `SELECT rolpassword FROM pg_catalog.pg_authid WHERE rolname = $1`, role).Scan(&v); err != nil {
		f.t.Fatal(err)
	}
	return deref(v)
}

// checkVerifier asserts that role's stored SCRAM verifier is the one of password.
func (f *fixture) checkVerifier(role, password string) {
	f.t.Helper()
	v := f.verifier(role)
	salt, iter, err := scram.ParseVerifier(v)
	if err != nil {
		f.t.Fatalf("role %s: %v (%q)", role, err, v)
	}
	want, err := scram.VerifierWith(password, salt, iter)
	if err != nil {
		f.t.Fatal(err)
	}
	if v != want {
		f.t.Errorf("role %s: the stored verifier is not the password's", role)
	}
}

// TestTransformerSecrets: a transformer credential missing from a writable (file) store is
// generated — 32 characters [A-Za-z0-9] — and written there first, then set as a SCRAM
// verifier; a rotated secret re-sets the password; a read-only (env) store without the secret
// leaves the role alone with a warning; no password ever appears in a plan or a log line.
func TestTransformerSecrets(t *testing.T) {
	root := t.TempDir()
	mv := loadAcme(t)
	fileStore(t, mv.Model, root)
	f := newFixture(t, mv, security.Config{}, security.Deps{})
	p := f.plan(platLive)
	if !slices.Contains(ops(p), "create_role "+dtRole) {
		t.Fatalf("plan does not create the transformer role: %v %v", ops(p), p.GetWarnings())
	}
	// The first apply — the one that generates the secret — runs in a service that publishes
	// its audit events, so they can be searched for the secret.
	js := startJetStream(t)
	audited, err := security.New(security.Config{DSN: f.env.DSNAs(secLogin), Instance: "secrets-test", DriftInterval: -1}, security.Deps{
		JS: js, Models: f.models, Secrets: security.CredentialStores(securitytest.EnvLookup(f.vars)),
		Log: slog.New(slog.NewTextHandler(f.logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(audited.Close)
	if _, err := audited.Activities().ApplyGrants(t.Context(), security.ApplyGrantsInput{Platform: platLive}); err != nil {
		t.Fatal(err)
	}
	f.converge(platForensic, platLive)

	dir := filepath.Join(root, "YELLOWLIVE_DT_CUSTOMERTOTALS")
	user, err := os.ReadFile(filepath.Join(dir, "user"))
	if err != nil {
		t.Fatal(err)
	}
	pw, err := os.ReadFile(filepath.Join(dir, "password"))
	if err != nil {
		t.Fatal(err)
	}
	password := strings.TrimSuffix(string(pw), "\n")
	if strings.TrimSpace(string(user)) != dtRole || !regexp.MustCompile(`^[A-Za-z0-9]{32}$`).MatchString(password) {
		t.Fatalf("generated secret: user %q, password of %d characters", user, len(password))
	}
	if fi, err := os.Stat(filepath.Join(dir, "password")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("password file mode: %v %v", fi.Mode(), err)
	}
	f.checkVerifier(dtRole, password)
	f.requireEmpty(platLive)

	// Rotation: the operator writes a new password; the next plan re-sets it.
	const rotated = "RotatedSecret0123456789abcdefXYZ"
	write(t, filepath.Join(dir, "password"), rotated+"\n")
	p = f.plan(platLive)
	if len(p.GetActions()) != 1 || p.GetActions()[0].GetStatement() != `ALTER ROLE "`+dtRole+`" PASSWORD '<redacted>'` {
		t.Fatalf("plan after rotation: %v", ops(p))
	}
	f.apply(platLive)
	f.checkVerifier(dtRole, rotated)
	f.requireEmpty(platLive)

	events := opsMessages(t, js, "ds.security.>")
	if len(events) == 0 {
		t.Fatal("no audit events")
	}
	model, err := proto.Marshal(f.model())
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{password, rotated} {
		pj, _ := protojson.Marshal(p)
		if strings.Contains(string(pj), secret) || strings.Contains(f.logs.String(), secret) {
			t.Error("a password appears in a plan or a log line")
		}
		if strings.Contains(string(model), secret) {
			t.Error("a password appears in the model")
		}
		for _, m := range events {
			if strings.Contains(string(m.Data), secret) || strings.Contains(string(m.Data), "SCRAM-SHA-256") {
				t.Errorf("event %s carries a secret", m.Subject)
			}
		}
	}
}

// startJetStream starts an in-process JetStream server with the OPS stream declared.
func startJetStream(t *testing.T) jetstream.JetStream {
	t.Helper()
	ns := natsserver.StartForTest(t)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := opsbus.DeclareStream(t.Context(), js); err != nil {
		t.Fatal(err)
	}
	return js
}

// TestReadOnlyStoreWithoutSecret: the env store cannot take a generated secret; the transformer
// role is left alone with a warning and everything else is applied.
func TestReadOnlyStoreWithoutSecret(t *testing.T) {
	f := newFixture(t, loadAcme(t), security.Config{}, security.Deps{})
	delete(f.vars, "YELLOWLIVE_DT_CUSTOMERTOTALS_USER")
	delete(f.vars, "YELLOWLIVE_DT_CUSTOMERTOTALS_PASSWORD")
	p := f.plan(platLive)
	const want = "transformer credential YELLOWLIVE_DT_CUSTOMERTOTALS is missing from the read-only env credential store, which the security service cannot write a generated password to: pre-create it (set YELLOWLIVE_DT_CUSTOMERTOTALS_USER and YELLOWLIVE_DT_CUSTOMERTOTALS_PASSWORD"
	if !slices.ContainsFunc(p.GetWarnings(), func(w string) bool { return strings.Contains(w, want) }) {
		t.Errorf("warnings: %v", p.GetWarnings())
	}
	res := f.apply(platLive)
	if res.Actions == 0 || f.roleExists(dtRole) {
		t.Errorf("apply: %d actions, transformer role exists %v", res.Actions, f.roleExists(dtRole))
	}
	if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, want) }) {
		t.Errorf("the activity result does not carry the warning: %v", res.Warnings)
	}
	// Not silent: every apply logs it at ERROR level.
	if !slices.ContainsFunc(strings.Split(f.logs.String(), "\n"), func(l string) bool {
		return strings.Contains(l, "level=ERROR") && strings.Contains(l, "transformer login not applied") && strings.Contains(l, "pre-create it")
	}) {
		t.Errorf("no ERROR log line for the held transformer login:\n%s", f.logs.String())
	}
	if !f.roleExists("yellowlive_ws_customertotals") {
		t.Error("the workspace role of the transformer workspace was not created")
	}
	// Once the operator provides the secret, the role is created.
	f.vars["YELLOWLIVE_DT_CUSTOMERTOTALS_USER"] = dtRole
	f.vars["YELLOWLIVE_DT_CUSTOMERTOTALS_PASSWORD"] = knownPassword
	f.apply(platLive)
	f.checkVerifier(dtRole, knownPassword)
	if strings.Contains(f.logs.String(), knownPassword) {
		t.Error("the password appears in a log line")
	}

	// A secret whose user is not the role's name is not applied: the role is held as it is.
	f.vars["YELLOWLIVE_DT_CUSTOMERTOTALS_USER"] = "someone_else"
	f.vars["YELLOWLIVE_DT_CUSTOMERTOTALS_PASSWORD"] = "Another" + knownPassword
	p = f.plan(platLive)
	if len(p.GetActions()) != 0 || !slices.Contains(p.GetWarnings(),
		`transformer credential YELLOWLIVE_DT_CUSTOMERTOTALS has user "someone_else", but it must be "`+dtRole+`"; role "`+dtRole+`" is left as it is`) {
		t.Errorf("wrong user: actions %v, warnings %v", ops(p), p.GetWarnings())
	}
	f.apply(platLive)
	f.checkVerifier(dtRole, knownPassword)
}
