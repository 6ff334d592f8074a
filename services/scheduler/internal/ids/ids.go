// Package ids derives the scheduler's Temporal identifiers from business keys (STYLE.md: starts
// are idempotent): schedule and workflow ids of a platform's streams and transformers, and of a
// platform's reconcile at a model version.
package ids

import (
	"errors"
	"strconv"
	"strings"

	"go.temporal.io/api/serviceerror"
)

// Prefixes of the ids; a schedule id is the kind, the platform and the key joined by "/".
const (
	KindBatch       = "batch"
	KindTransformer = "transformer"
	KindReconcile   = "reconcile"
)

// BatchSchedule is the id of stream k's schedule on platform d, and the workflow id prefix of
// its batches (a schedule appends the scheduled time): batch/<d>/<k>.
func BatchSchedule(d, k string) string { return KindBatch + "/" + d + "/" + k }

// TransformerSchedule is the id of the cron schedule of transformer workspace w on platform d:
// transformer/<d>/<w>.
func TransformerSchedule(d, w string) string { return KindTransformer + "/" + d + "/" + w }

// TransformerWorkflow is the workflow id of the input-triggered runs of transformer workspace w
// on platform d (one in flight): transformer/<d>/<w>.
func TransformerWorkflow(d, w string) string { return KindTransformer + "/" + d + "/" + w }

// ReconcileWorkflow is the workflow id of platform d's reconcile at model version v:
// reconcile/<d>/v<v>.
func ReconcileWorkflow(d string, v int64) string {
	return KindReconcile + "/" + d + "/v" + strconv.FormatInt(v, 10)
}

// Parse splits a schedule id into its kind, platform and key. Platform names never contain
// "/" (they are names of the model), so the key is everything after the second "/".
func Parse(id string) (kind, platform, key string, ok bool) {
	kind, rest, ok1 := strings.Cut(id, "/")
	platform, key, ok2 := strings.Cut(rest, "/")
	if !ok1 || !ok2 || platform == "" || key == "" {
		return "", "", "", false
	}
	return kind, platform, key, true
}

// IsNotFound reports whether err is Temporal's NotFound.
func IsNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return err != nil && errors.As(err, &nf)
}
