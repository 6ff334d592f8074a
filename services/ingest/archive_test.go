package ingest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/datasurface/datasurface/kit/pgtest"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest"
	"github.com/google/go-cmp/cmp"
	"github.com/klauspost/compress/zstd"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// minioServer starts a real MinIO server (bin/minio of the repository, or minio on PATH) and
// returns its endpoint and a client. Without the binary the test is skipped (failed under CI).
func minioServer(t *testing.T) (string, *minio.Client) {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join("..", "..", "bin", "minio"))
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		if bin, err = exec.LookPath("minio"); err != nil {
			pgtest.Missing(t, "MinIO (go install github.com/minio/minio@latest into bin/)", err)
		}
	}
	port, console := freePort(t), freePort(t)
	endpoint := fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "server", "--quiet", "--address", endpoint, "--console-address", fmt.Sprintf("127.0.0.1:%d", console), t.TempDir())
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER=archiver", "MINIO_ROOT_PASSWORD=archiver-secret", "MINIO_UPDATE=off", "MINIO_BROWSER=off")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get("http://" + endpoint + "/minio/health/live")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("minio did not start: %v\n%s", err, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	cl, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4("archiver", "archiver-secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.MakeBucket(context.Background(), "raw", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	return endpoint, cl
}

func getObject(t *testing.T, cl *minio.Client, key string) []byte {
	t.Helper()
	o, err := cl.GetObject(context.Background(), "raw", key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("%s: %v", key, err)
	}
	return b
}

func unzstd(t *testing.T, b []byte) []byte {
	t.Helper()
	d, err := zstd.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	out, err := io.ReadAll(d)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type manifest struct {
	Platform     string `json:"platform"`
	Stream       string `json:"stream"`
	Batch        int32  `json:"batch"`
	ModelVersion int64  `json:"modelVersion"`
	Datasets     map[string]struct {
		Key      string `json:"key"`
		SHA256   string `json:"sha256"`
		Bytes    int64  `json:"bytes"`
		RawBytes int64  `json:"rawBytes"`
		Rows     int64  `json:"rows"`
	} `json:"datasets"`
	State struct {
		DataTime string `json:"dataTime"`
	} `json:"state"`
}

// TestRawArchive: with rawArchive set, a snapshot batch archives each dataset's COPY text as
// read (zstd) and a manifest; a CDC batch archives its messages as JSON lines.
func TestRawArchive(t *testing.T) {
	endpoint, cl := minioServer(t)
	k := newKafka(t, 1, topic)
	e := newEnv(t)
	e.vars["ARCH_API_KEY"], e.vars["ARCH_API_SECRET"] = "archiver", "archiver-secret"
	e.archived = &modelv1.RawArchive{Bucket: "raw", Prefix: "archive", Credential: &modelv1.Credential{Name: "ARCH", Type: modelv1.CredentialType_CREDENTIAL_TYPE_API_KEY_PAIR}}
	e.execSrc(`CREATE TABLE a (id int, name text); INSERT INTO a SELECT g, 'a' || g || E'\t' FROM generate_series(1, 3000) g;
		CREATE TABLE b (id int, name text, qty int); INSERT INTO b VALUES (1, NULL, 2)`)
	cdcStore := e.cdcModel(k, modelv1.CdcRejectPolicy_CDC_REJECT_POLICY_UNSPECIFIED).GetDatastores()[0]
	sql := e.twoDatasets().GetDatastores()[0]
	m := e.model(sql, cdcStore)
	e.setup(m)

	// Without an archive endpoint the platform's ingests fail.
	b := e.open(m, "Store1")
	_, err := e.ingest(context.Background(), m, "Store1", b)
	ingestErr(t, err, ingest.CodeArchive, false, "no archive endpoint")

	e.svc = e.service(ingest.Config{Archive: ingest.ArchiveConfig{Endpoint: endpoint}})
	res := e.mustIngest(m, "Store1", b)
	var want bytes.Buffer
	if _, err := e.src.PgConn().CopyTo(context.Background(), &want, `COPY a TO STDOUT`); err != nil {
		t.Fatal(err)
	}
	raw := getObject(t, cl, "archive/Test_DP/Store1/1/a.tsv.zst")
	if got := unzstd(t, raw); !bytes.Equal(got, want.Bytes()) {
		t.Errorf("archived COPY text of a differs: %d bytes, want %d", len(got), want.Len())
	}
	if got := string(unzstd(t, getObject(t, cl, "archive/Test_DP/Store1/1/b.tsv.zst"))); got != "1\t\\N\t2\n" {
		t.Errorf("archived b = %q", got)
	}
	var man manifest
	if err := json.Unmarshal(getObject(t, cl, "archive/Test_DP/Store1/1/manifest.json"), &man); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	a := man.Datasets["a"]
	if man.Platform != platform || man.Stream != "Store1" || man.Batch != 1 || man.ModelVersion != 1 || man.State.DataTime == "" ||
		a.Key != "archive/Test_DP/Store1/1/a.tsv.zst" || a.SHA256 != hex.EncodeToString(sum[:]) || a.Rows != res.Rows["a"] ||
		a.RawBytes != int64(want.Len()) || a.Bytes != int64(len(raw)) || man.Datasets["b"].Rows != 1 {
		t.Errorf("manifest = %+v", man)
	}

	// CDC: every message read, as JSON lines with base64 key and value.
	ev := event("c", 1, nil, customer(1, "x", "1.00", "2001-01-01", "2026-01-01T00:00:00Z", nil, `{}`, true, 1, nil), 100)
	k.produce(topic, 0, ev, tombstone(1))
	b = e.open(m, cdcKey)
	e.mustIngest(m, cdcKey, b)
	lines := strings.Split(strings.TrimSuffix(string(unzstd(t, getObject(t, cl, "archive/Test_DP/CDCStore#customers/1/customers.jsonl.zst"))), "\n"), "\n")
	type line struct {
		Topic     string  `json:"topic"`
		Partition int32   `json:"partition"`
		Offset    int64   `json:"offset"`
		Key       *string `json:"key"`
		Value     *string `json:"value"`
	}
	var got []line
	for _, l := range lines {
		var x line
		if err := json.Unmarshal([]byte(l), &x); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		got = append(got, x)
	}
	enc := func(b []byte) *string { s := base64.StdEncoding.EncodeToString(b); return &s }
	wantLines := []line{
		{Topic: topic, Partition: 0, Offset: 0, Key: enc(ev.key), Value: enc(ev.value)},
		{Topic: topic, Partition: 0, Offset: 1, Key: enc(keyOf(1))},
	}
	if diff := cmp.Diff(wantLines, got); diff != "" {
		t.Errorf("CDC archive (-want +got):\n%s", diff)
	}
	if _, err := cl.StatObject(context.Background(), "raw", "archive/Test_DP/CDCStore#customers/1/manifest.json", minio.StatObjectOptions{}); err != nil {
		t.Errorf("CDC manifest: %v", err)
	}

	// A missing bucket fails the ingest (retryable).
	if err := cl.RemoveBucketWithOptions(context.Background(), "raw", minio.RemoveBucketOptions{ForceDelete: true}); err != nil {
		t.Fatal(err)
	}
	e.restart("Store1", 1)
	_, err = e.ingest(context.Background(), m, "Store1", 1)
	var ie *ingest.Error
	if !errors.As(err, &ie) || ie.Code != ingest.CodeArchive || ie.Permanent {
		t.Errorf("missing bucket: %v", err)
	}
}
