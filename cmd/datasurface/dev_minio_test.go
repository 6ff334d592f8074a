package main

import (
	"context"
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/datasurface/datasurface/kit/pgcluster"
	"github.com/datasurface/datasurface/kit/pgtest"
	"github.com/datasurface/datasurface/kit/temporalserver"
)

// archiveModel writes a copy of the embedded example whose YellowLive platform keeps a raw
// batch archive in bucket dev-raw under prefix acme, and returns its directory.
func archiveModel(t *testing.T) string {
	t.Helper()
	files, err := readModelFiles("")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const anchor = "        stagingBatchesToKeep: 20\n"
	const archive = anchor + `        rawArchive:
          bucket: dev-raw
          prefix: acme
          credential:
            name: YELLOWLIVE_ARCHIVE
            type: API_KEY_PAIR
`
	patched := false
	for _, f := range files {
		content := string(f.Content)
		if f.Path == "ecosystem/platforms.yaml" {
			if strings.Count(content, anchor) != 1 {
				t.Fatalf("%s: no single %q to add rawArchive after", f.Path, anchor)
			}
			content, patched = strings.Replace(content, anchor, archive, 1), true
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, content)
	}
	if !patched {
		t.Fatal("the example has no ecosystem/platforms.yaml")
	}
	return dir
}

// TestDevRawArchive: with a model whose platform keeps a raw batch archive, dev starts MinIO,
// creates the bucket, gives ingest the archive's endpoint and credential, and a committed
// batch of that platform has its objects (data and manifest.json) in the bucket.
func TestDevRawArchive(t *testing.T) {
	if _, err := pgcluster.FindBinaries(); err != nil {
		pgtest.Missing(t, "PostgreSQL", err)
	}
	if _, err := temporalserver.FindBinary(); err != nil {
		pgtest.Missing(t, "Temporal", err)
	}
	if _, err := findMinIO(); err != nil {
		pgtest.Missing(t, "MinIO (tools/install-minio.sh, or make test, builds bin/minio)", err)
	}
	dir := t.TempDir()
	s := startDev(t, "--dir", dir, "--listen", freeAddr(t), "--model", archiveModel(t))
	s.waitFor(t, "the archive line", 2*time.Minute, regexp.MustCompile(`archive\s+MinIO at 127\.0\.0\.1:\d+, bucket\(s\) dev-raw`).MatchString)

	// A batch YellowLive ingests itself (PaymentsDB is copied from YellowForensic's merge
	// tables, which reads no source and archives nothing).
	committed := regexp.MustCompile(`batch\s+YellowLive (\S+) #(\d+) committed: \d+ rows`)
	var stream, id string
	out := s.waitFor(t, "a committed YellowLive batch", 3*time.Minute, func(out string) bool {
		for _, m := range committed.FindAllStringSubmatch(out, -1) {
			if !strings.HasPrefix(m[1], "PaymentsDB") {
				stream, id = m[1], m[2]
				return true
			}
		}
		return false
	})

	st, err := loadDevState(dir)
	if err != nil {
		t.Fatal(err)
	}
	env, err := os.ReadFile(filepath.Join(dir, "credentials.env"))
	if err != nil {
		t.Fatal(err)
	}
	password := st.Passwords[devMinIOUser]
	if st.MinIOPort == 0 || password == "" {
		t.Fatalf("state.json keeps MinIO port %d and root password set=%t; want both", st.MinIOPort, password != "")
	}
	for _, want := range []string{"YELLOWLIVE_ARCHIVE_API_KEY=" + devMinIOUser + "\n", "YELLOWLIVE_ARCHIVE_API_SECRET=" + password + "\n"} {
		if !strings.Contains(string(env), want) {
			t.Errorf("credentials.env lacks the archive credential line %q", strings.SplitN(want, "=", 2)[0])
		}
	}
	cl, err := minio.New("127.0.0.1:"+strconv.Itoa(st.MinIOPort), &minio.Options{Creds: credentials.NewStaticV4(devMinIOUser, password, "")})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	batchDir := path.Join("acme", "YellowLive", stream, id) + "/"
	var keys []string
	for o := range cl.ListObjects(ctx, "dev-raw", minio.ListObjectsOptions{Prefix: batchDir, Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list dev-raw/%s: %v", batchDir, o.Err)
		}
		keys = append(keys, strings.TrimPrefix(o.Key, batchDir))
	}
	var data int
	for _, k := range keys {
		if strings.HasSuffix(k, ".tsv.zst") || strings.HasSuffix(k, ".jsonl.zst") {
			data++
		}
	}
	if !strings.Contains(strings.Join(keys, " "), "manifest.json") || data == 0 {
		var all []string
		for o := range cl.ListObjects(ctx, "dev-raw", minio.ListObjectsOptions{Recursive: true}) {
			all = append(all, o.Key)
		}
		t.Fatalf("dev-raw/%s holds %q; want manifest.json and the datasets' .zst objects (bucket: %q)\noutput:\n%s", batchDir, keys, all, out)
	}
	t.Logf("dev-raw/%s: %q", batchDir, keys)
	o, err := cl.GetObject(ctx, "dev-raw", batchDir+"manifest.json", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	var man struct {
		Platform string `json:"platform"`
		Stream   string `json:"stream"`
		Batch    int    `json:"batch"`
	}
	if err := json.NewDecoder(o).Decode(&man); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if man.Platform != "YellowLive" || man.Stream != stream || strconv.Itoa(man.Batch) != id {
		t.Errorf("manifest names %s %s #%d; want YellowLive %s #%s", man.Platform, man.Stream, man.Batch, stream, id)
	}
	s.stop(t)
	if strings.Contains(s.out.String(), "dev runs no object store") {
		t.Errorf("dev still warns that it runs no object store:\n%s", s.out)
	}
}

// TestDevArchiveWithoutMinIO: without a MinIO binary, dev warns with how to install one and
// carries on with no archive endpoint (those ingests fail); the archive's buckets and
// credentials come from the model.
func TestDevArchiveWithoutMinIO(t *testing.T) {
	files, err := readModelFiles(archiveModel(t))
	if err != nil {
		t.Fatal(err)
	}
	m, err := localizeModel(files, 5999, "127.0.0.1:9999")
	if err != nil {
		t.Fatal(err)
	}
	buckets, creds := m.devArchives()
	if strings.Join(buckets, ",") != "dev-raw" || strings.Join(creds, ",") != "YELLOWLIVE_ARCHIVE" {
		t.Fatalf("archives: buckets %q, credentials %q; want [dev-raw] and [YELLOWLIVE_ARCHIVE]", buckets, creds)
	}
	env := map[string]string{"OTHER": "x"}
	archiveEnv(env, creds, "root", "secret")
	if env["YELLOWLIVE_ARCHIVE_API_KEY"] != "root" || env["YELLOWLIVE_ARCHIVE_API_SECRET"] != "secret" || len(env) != 3 {
		t.Errorf("archive env = %v; want the key pair of YELLOWLIVE_ARCHIVE added", env)
	}

	saved := findMinIOBinary
	t.Cleanup(func() { findMinIOBinary = saved })
	findMinIOBinary = func() (string, error) { return "", errNoMinIO }
	dir := t.TempDir()
	st, err := loadDevState(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	r := &devRun{dir: dir, st: st, p: &devPrinter{w: &out}}
	a, err := r.startArchive(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	env = map[string]string{}
	endpoint, err := a.await(t.Context(), r, env)
	if err != nil || endpoint != "" || len(env) != 0 {
		t.Errorf("await = %q, %v, env %v; want no endpoint, no error, no archive credentials", endpoint, err, env)
	}
	for _, want := range []string{"warning", "raw batch archive (bucket(s) dev-raw)", "tools/install-minio.sh", "make test"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if st.MinIOPort != 0 {
		t.Errorf("state records MinIO port %d although no MinIO runs", st.MinIOPort)
	}
	a.stop() // nothing to stop
}
