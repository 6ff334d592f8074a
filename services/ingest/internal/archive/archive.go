// Package archive owns the raw batch archive of yellow.md §7.5: while a batch is ingested, the
// source data as read — the COPY text of each dataset (`<T>.tsv.zst`) or the CDC messages
// (`<T>.jsonl.zst`) — is streamed zstd-compressed to s3://<bucket>/<prefix>/<D>/<K>/<B>/, and a
// manifest.json (row counts, object SHA-256s, capture state, model version) completes the
// batch's archive before it becomes ingested. Uploads are streamed in parts of PartSize, so
// memory stays bounded whatever the batch size. Writing the same batch again overwrites it.
package archive

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"path"
	"slices"
	"strconv"
	"sync"

	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/klauspost/compress/zstd"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// PartSize is the multipart upload part size (the memory one upload holds).
const PartSize = 8 << 20

// Ref names an archived batch.
type Ref struct {
	Platform string
	Stream   string
	Batch    int32
	// Extension of the dataset objects: "tsv.zst" or "jsonl.zst".
	Extension string
	// ModelVersion is recorded in the manifest.
	ModelVersion int64
}

// Keys are the archive's access key pair (the rawArchive credential, API_KEY_PAIR).
type Keys struct {
	AccessKey, SecretKey string
}

// Opener opens batch archives on one S3/MinIO endpoint.
type Opener struct {
	Endpoint string
	Secure   bool
	Region   string
}

// Open starts the archive of one batch.
func (o Opener) Open(ctx context.Context, ra *modelv1.RawArchive, keys Keys, ref Ref) (*Batch, error) {
	cl, err := minio.New(o.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(keys.AccessKey, keys.SecretKey, ""),
		Secure: o.Secure,
		Region: o.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("archive endpoint %s: %w", o.Endpoint, err)
	}
	ok, err := cl.BucketExists(ctx, ra.GetBucket())
	if err != nil {
		return nil, fmt.Errorf("archive bucket %s: %w", ra.GetBucket(), err)
	}
	if !ok {
		return nil, fmt.Errorf("archive bucket %s does not exist", ra.GetBucket())
	}
	dir := path.Join(ra.GetPrefix(), ref.Platform, ref.Stream, strconv.Itoa(int(ref.Batch)))
	return &Batch{cl: cl, bucket: ra.GetBucket(), dir: dir, ref: ref, objects: map[string]Object{}}, nil
}

// Object is one archived dataset in the manifest.
type Object struct {
	Key string `json:"key"`
	// SHA256 is the hex SHA-256 of the stored (compressed) object.
	SHA256 string `json:"sha256"`
	// Bytes is the stored size; RawBytes the size before compression.
	Bytes    int64 `json:"bytes"`
	RawBytes int64 `json:"rawBytes"`
	Rows     int64 `json:"rows"`
}

// Manifest is manifest.json.
type Manifest struct {
	V            int               `json:"v"`
	Platform     string            `json:"platform"`
	Stream       string            `json:"stream"`
	Batch        int32             `json:"batch"`
	ModelVersion int64             `json:"modelVersion"`
	Datasets     map[string]Object `json:"datasets"`
	State        mergesql.State    `json:"state"`
}

// Batch is the archive of one batch being written.
type Batch struct {
	cl      *minio.Client
	bucket  string
	dir     string
	ref     Ref
	mu      sync.Mutex
	objects map[string]Object
}

// Dir is the object key prefix of the batch (<prefix>/<D>/<K>/<B>).
func (b *Batch) Dir() string { return b.dir }

// Dataset opens the object of one dataset; Close completes it.
func (b *Batch) Dataset(ctx context.Context, name string) (io.WriteCloser, error) {
	key := path.Join(b.dir, name+"."+b.ref.Extension)
	pr, pw := io.Pipe()
	w := &objectWriter{b: b, name: name, key: key, pw: pw, sum: sha256.New(), done: make(chan error, 1)}
	enc, err := zstd.NewWriter(w.hashed(), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))
	if err != nil {
		return nil, err
	}
	w.enc = enc
	go func() {
		info, err := b.cl.PutObject(ctx, b.bucket, key, pr, -1, minio.PutObjectOptions{
			ContentType: "application/zstd", PartSize: PartSize, DisableMultipart: false, ConcurrentStreamParts: false,
		})
		if err != nil {
			_ = pr.CloseWithError(err)
		}
		w.stored = info.Size
		w.done <- err
	}()
	return w, nil
}

type objectWriter struct {
	b      *Batch
	name   string
	key    string
	pw     *io.PipeWriter
	enc    *zstd.Encoder
	sum    hash.Hash
	raw    int64
	stored int64
	done   chan error
	closed bool
}

// hashed is the compressed stream: it feeds the SHA-256 and the upload.
func (w *objectWriter) hashed() io.Writer { return io.MultiWriter(w.sum, w.pw) }

func (w *objectWriter) Write(p []byte) (int, error) {
	w.raw += int64(len(p))
	return w.enc.Write(p)
}

// Close completes the object: the encoder is flushed and the upload awaited.
func (w *objectWriter) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.enc.Close()
	_ = w.pw.CloseWithError(err)
	if uerr := <-w.done; uerr != nil {
		return fmt.Errorf("upload %s: %w", w.key, uerr)
	}
	if err != nil {
		return fmt.Errorf("compress %s: %w", w.key, err)
	}
	w.b.mu.Lock()
	w.b.objects[w.name] = Object{Key: w.key, SHA256: hex.EncodeToString(w.sum.Sum(nil)), Bytes: w.stored, RawBytes: w.raw}
	w.b.mu.Unlock()
	return nil
}

// Finish writes manifest.json with the batch's state (its rows give each object's row count).
func (b *Batch) Finish(ctx context.Context, state *mergesql.State) error {
	m := Manifest{V: 1, Platform: b.ref.Platform, Stream: b.ref.Stream, Batch: b.ref.Batch, ModelVersion: b.ref.ModelVersion, State: *state}
	b.mu.Lock()
	m.Datasets = make(map[string]Object, len(b.objects))
	for name, o := range b.objects {
		o.Rows = state.Rows[name].Staged + state.Rows[name].Rejected + state.Rows[name].Replayed
		m.Datasets[name] = o
	}
	b.mu.Unlock()
	if m.ModelVersion == 0 {
		m.ModelVersion = state.ModelVersion
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	key := path.Join(b.dir, "manifest.json")
	if _, err := b.cl.PutObject(ctx, b.bucket, key, bytes.NewReader(raw), int64(len(raw)), minio.PutObjectOptions{ContentType: "application/json"}); err != nil {
		return fmt.Errorf("upload %s: %w", key, err)
	}
	return nil
}

// Abort removes what was written (best effort: a later run of the batch overwrites it anyway).
func (b *Batch) Abort(ctx context.Context) {
	b.mu.Lock()
	keys := make([]string, 0, len(b.objects))
	for _, o := range b.objects {
		keys = append(keys, o.Key)
	}
	b.mu.Unlock()
	slices.Sort(keys)
	for _, k := range keys {
		_ = b.cl.RemoveObject(ctx, b.bucket, k, minio.RemoveObjectOptions{})
	}
}

// ErrNotConfigured is returned when a platform has a raw archive but no endpoint is configured.
var ErrNotConfigured = errors.New("raw archive endpoint is not configured")
