package reconcile

import (
	"context"
	"errors"
	"fmt"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// SpecAttribute is the Keyword search attribute of a schedule that holds its fingerprint
// (Schedule.Fingerprint). ListSchedules returns a schedule's search attributes, so one listing
// tells which schedules differ from the model, without reading each one; unlike the schedule's
// memo, a schedule update can change it (in the same request as the schedule, so the two never
// disagree). The reconciler registers it in the namespace when it may; without it every
// schedule the reconciler has not set itself is described once per reconcile.
const SpecAttribute = "DatasurfaceScheduleSpec"

var specKey = temporal.NewSearchAttributeKeyKeyword(SpecAttribute)

// specAttribute reports whether schedules carry SpecAttribute in this reconcile: it is
// registered in the namespace (registering it when missing). Once usable it stays so; when it
// is not, the next reconcile checks again.
func (r *Reconciler) specAttribute(ctx context.Context) bool {
	if r.cfg.NoSpecAttribute {
		return false
	}
	if r.attrOn.Load() {
		return true
	}
	err := r.registerAttribute(ctx)
	if err != nil {
		r.log.WarnContext(ctx, "schedules without their fingerprint attribute: a reconcile describes every schedule it did not set itself",
			"attribute", SpecAttribute, "namespace", r.cfg.Namespace, "error", err)
		return false
	}
	r.attrOn.Store(true)
	return true
}

// registerAttribute makes SpecAttribute a Keyword search attribute of the namespace.
func (r *Reconciler) registerAttribute(ctx context.Context) error {
	ops := r.client.OperatorService()
	list := func() (enumspb.IndexedValueType, bool, error) {
		resp, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: r.cfg.Namespace})
		if err != nil {
			return 0, false, fmt.Errorf("list search attributes: %w", err)
		}
		t, ok := resp.GetCustomAttributes()[SpecAttribute]
		return t, ok, nil
	}
	t, ok, err := list()
	if err != nil {
		return err
	}
	if !ok {
		_, err := ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
			Namespace:        r.cfg.Namespace,
			SearchAttributes: map[string]enumspb.IndexedValueType{SpecAttribute: enumspb.INDEXED_VALUE_TYPE_KEYWORD},
		})
		var exists *serviceerror.AlreadyExists
		if err != nil && !errors.As(err, &exists) {
			return fmt.Errorf("register search attribute %s (Keyword): %w", SpecAttribute, err)
		}
		if t, ok, err = list(); err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("search attribute %s not listed after registering it", SpecAttribute)
		}
		r.log.InfoContext(ctx, "schedule fingerprint attribute registered", "attribute", SpecAttribute, "namespace", r.cfg.Namespace)
	}
	if t != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
		return fmt.Errorf("search attribute %s is of type %s, want Keyword", SpecAttribute, t)
	}
	return nil
}

// attributeRejected reports whether err is the server refusing SpecAttribute (registered but
// not yet known to the frontend answering, or removed meanwhile).
func attributeRejected(err error) bool {
	var invalid *serviceerror.InvalidArgument
	return errors.As(err, &invalid) && strings.Contains(invalid.Error(), SpecAttribute)
}

// specAttributes are a schedule's search attributes with SpecAttribute set to fingerprint,
// keeping the others it has.
func specAttributes(have temporal.SearchAttributes, fingerprint string) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(have.Copy(), specKey.ValueSet(fingerprint))
}

// attributeFingerprint reads SpecAttribute from a schedule's search attributes ("" when absent).
func attributeFingerprint(sa *commonpb.SearchAttributes) string {
	return decodeValue(sa.GetIndexedFields()[SpecAttribute])
}

// withoutAttribute are schedule options without the search attributes (the attribute refused).
func withoutAttribute(o client.ScheduleOptions) client.ScheduleOptions {
	o.TypedSearchAttributes = temporal.NewSearchAttributes()
	return o
}
