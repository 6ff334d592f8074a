package merge_test

import (
	"context"
	"strings"
	"testing"

	"github.com/datasurface/datasurface/services/ingest"
	"github.com/datasurface/datasurface/services/merge"
)

// ingestService returns the real ingest service of the test cluster: every credential of the
// test model logs in as the cluster's superuser (trust authentication).
func ingestService(t testing.TB) *ingest.Activities {
	t.Helper()
	svc, err := ingest.New(ingest.Config{SSLMode: "disable"}, ingest.Deps{Secrets: ingest.Credentials{
		LookupEnv: func(name string) (string, bool) {
			if strings.HasSuffix(name, "_USER") {
				return "postgres", true
			}
			return "unused", strings.HasSuffix(name, "_PASSWORD")
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(svc.Close)
	return svc.Activities()
}

// realIngest is step 3 of the cycles: the ingest service's IngestBatch under the env's current
// model, its errors classified as merge errors.
func realIngest(e *env, d, stream string) merge.Ingest {
	if e.ing == nil {
		e.ing = ingestService(e.t)
	}
	m, _ := e.models.Model(context.Background(), e.version, "")
	return func(ctx context.Context, b int32) error {
		_, err := e.ing.IngestBatch(ctx, ingest.IngestBatchInput{Platform: d, Stream: stream, BatchID: b, ModelVersion: e.version, Model: m})
		if err != nil {
			return &merge.Error{Activity: "IngestBatch", Permanent: ingest.IsPermanent(err), Err: err}
		}
		return nil
	}
}
