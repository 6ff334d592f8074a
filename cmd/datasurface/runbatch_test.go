package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/kit/pgcluster"
	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/jackc/pgx/v5"
)

// runBatchModel is a small model: a live-only Yellow platform, a snapshot datastore and a
// workspace whose email column is masked. Its databases are placed at host:port/merge and
// host:port/source with credentials from the environment store.
const runBatchModel = `apiVersion: datasurface/v1
kind: Ecosystem
metadata: {name: Test}
spec:
  owningRepo: test/model@eco
  liveRepo: test/model@main
  vendors:
    - {name: Acme, cloudVendor: PRIVATE, documentation: Test vendor, locations: [{name: EU}]}
  zones:
    - {name: Europe, owningRepo: test/model@zone}
---
apiVersion: datasurface/v1
kind: GovernanceZone
metadata: {name: Europe}
spec:
  teams:
    - {name: Shop, owningRepo: test/model@shop}
---
apiVersion: datasurface/v1
kind: PlatformServicesProvider
metadata: {name: Core}
spec:
  locations: ["Acme:EU"]
  credentialStore: {env: {}}
  platforms:
    - name: YellowLive
      yellow:
        milestoning: LIVE_ONLY
        mergeDatabase:
          postgres: {name: merge_pg, host: "%[1]s", port: %[2]d, database: merge, locations: ["Acme:EU"]}
        mergeCredential: {name: MERGE_PG, type: USER_PASSWORD}
---
apiVersion: datasurface/v1
kind: PlatformAssignments
metadata: {name: default}
spec:
  datasetGroups:
    - workspace: Analytics
      datasetGroup: main
      platforms:
        - {platform: YellowLive, status: PROVISIONED}
---
apiVersion: datasurface/v1
kind: Datastore
metadata: {name: Shop, zone: Europe, team: Shop}
spec:
  capture:
    sqlSnapshot:
      container:
        postgres: {name: shop_pg, host: "%[1]s", port: %[2]d, database: source, locations: ["Acme:EU"]}
      credential: {name: SHOP_PG, type: USER_PASSWORD}
      consistency: MULTI_DATASET
      trigger: {cron: "*/10 * * * *"}
      sourceTables: {people: public.people}
  datasets:
    - name: people
      primaryKey: [id]
      columns:
        - {name: id, type: Integer, nullable: false, classifications: [IP]}
        - {name: email, type: VarChar(100), classifications: [PC1]}
        - {name: score, type: "Decimal(10,2)", classifications: [IP]}
---
apiVersion: datasurface/v1
kind: Workspace
metadata: {name: Analytics, zone: Europe, team: Shop}
spec:
  access:
    approvedClassifications: [PUB, IP]
  datasetGroups:
    - name: main
      platformRequirements: {milestoning: LIVE_ONLY}
      sinks:
        - {datastore: Shop, dataset: people}
`

// runBatchCluster starts a PostgreSQL cluster of this test's own (the package's pgtest cluster
// is stopped by another test) with a merge and a source database.
func runBatchCluster(t *testing.T) *pgcluster.Cluster {
	t.Helper()
	if _, err := pgcluster.FindBinaries(); err != nil {
		pgtest.Missing(t, "PostgreSQL", err)
	}
	dir, err := os.MkdirTemp("", "runbatch-")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := pgcluster.Open(ctx, dir, pgcluster.Options{})
	if err == nil {
		err = c.Start(ctx)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Stop(context.Background())
		_ = os.RemoveAll(dir)
	})
	conn, err := pgx.Connect(ctx, c.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, db := range []string{"merge", "source"} {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+db); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestRunBatch(t *testing.T) {
	c := runBatchCluster(t)
	ctx := context.Background()
	exec := func(db, sql string) []string {
		t.Helper()
		conn, err := pgx.Connect(ctx, c.DSN(db))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		rows, err := conn.Query(ctx, sql)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		return out
	}
	exec("source", "CREATE TABLE people (id integer PRIMARY KEY, email varchar(100), score numeric(10,2))")
	exec("source", "INSERT INTO people VALUES (1, 'ann@x', 10), (2, NULL, NULL)")

	// The model places both databases on a host that does not exist: the DSN flags replace them.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.yaml"), []byte(fmt.Sprintf(runBatchModel, "db.invalid", 5432)), 0o644); err != nil {
		t.Fatal(err)
	}
	overrides := []string{"--merge-dsn", c.DSN("merge"), "--source-dsn", "Shop=" + c.DSN("source")}
	runBatch := func(extra ...string) (string, string, int) {
		t.Helper()
		args := append([]string{"run-batch", "--model", dir, "--platform", "YellowLive", "--stream", "Shop"}, extra...)
		return runCLI(t, args...)
	}
	lastLine := func(out string) string {
		lines := strings.Split(strings.TrimSpace(out), "\n")
		return regexp.MustCompile(`duration \S+$`).ReplaceAllString(lines[len(lines)-1], "duration D")
	}

	out, errOut, code := runBatch(overrides...)
	if code != 0 {
		t.Fatalf("first batch: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"reconcile tables: 6 changed", "batch 1: started (attempt 1, new)", "  staged people=2 (22 bytes read)",
		"merge: batch 1 committed (live-snapshot): inserted 2, updated 0, deleted 0, total 2",
		"  yellowlive_analytics: created 1, replaced 0, recreated 0, dropped 0, pending 0",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if got := lastLine(out); got != "batch 1 of Shop on YellowLive committed: inserted 2, updated 0, deleted 0, total 2, duration D" {
		t.Errorf("last line: %s", got)
	}
	if got := exec("merge", `SELECT concat_ws(' ', id, coalesce(email, 'NULL'), coalesce(score::text, 'NULL')) FROM yellowlive_analytics.yellowlive_analytics_main_shop_people_view_live ORDER BY id`); strings.Join(got, ";") != "1 NULL 10.00;2 NULL NULL" {
		t.Errorf("view: %v", got)
	}

	// A source that lost a column: the batch fails, recorded with its reason; exit code 1.
	exec("source", "UPDATE people SET score = 11 WHERE id = 1")
	exec("source", "ALTER TABLE people DROP COLUMN email")
	out, errOut, code = runBatch(overrides...)
	if code != 1 || !strings.Contains(out, "batch 2 failed in phase ingest") || !strings.Contains(errOut, "email") {
		t.Fatalf("failing batch: exit %d\n%s\n%s", code, out, errOut)
	}
	if got := exec("merge", `SELECT batch_status || ' ' || (state->'error'->>'permanent') FROM yellowlive.yellowlive_batch_metrics WHERE batch_id = 2`); strings.Join(got, ";") != "failed true" {
		t.Errorf("batch 2 record: %v", got)
	}

	// Fixed: the next run resumes batch 2. This time the model names the cluster itself and the
	// logins come from the environment store.
	exec("source", "ALTER TABLE people ADD COLUMN email varchar(100)")
	if err := os.WriteFile(filepath.Join(dir, "model.yaml"), []byte(fmt.Sprintf(runBatchModel, "127.0.0.1", c.Port)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"MERGE_PG", "SHOP_PG"} {
		t.Setenv(k+"_USER", "postgres")
		t.Setenv(k+"_PASSWORD", "unused")
	}
	out, errOut, code = runBatch()
	if code != 0 || !strings.Contains(out, "batch 2: started (attempt 2, resumed)") {
		t.Fatalf("re-run: exit %d\n%s\n%s", code, out, errOut)
	}
	if got := lastLine(out); got != "batch 2 of Shop on YellowLive committed: inserted 0, updated 1, deleted 0, total 2, duration D" {
		t.Errorf("last line: %s", got)
	}

	for name, args := range map[string][]string{
		"missing stream": {"run-batch", "--model", dir, "--platform", "YellowLive"},
		"unknown stream": {"run-batch", "--model", dir, "--platform", "YellowLive", "--stream", "Nope"},
		"bad source dsn": {"run-batch", "--model", dir, "--platform", "YellowLive", "--stream", "Shop", "--source-dsn", "Shop"},
		"bad set-role":   {"run-batch", "--model", dir, "--platform", "YellowLive", "--stream", "Shop", "--set-role", "sometimes"},
		"bad kafka security protocol": {"run-batch", "--model", dir, "--platform", "YellowLive", "--stream", "Shop",
			"--kafka-security-protocol", "carrier-pigeon"},
		"archive endpoint without a port": {"run-batch", "--model", dir, "--platform", "YellowLive", "--stream", "Shop",
			"--archive-endpoint", "minio.internal"},
	} {
		if _, errOut, code := runCLI(t, args...); code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s", name, code, errOut)
		}
	}
}
