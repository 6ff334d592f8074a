package compat

import "github.com/datasurface/datasurface/model/problem"

// Phase is the gate phase every compatibility problem belongs to.
const Phase = "compatibility"

// The rules of spec/governance.md §2.3. Rules marked E / W in the spec carry ERROR here; the
// problem says which severity applied.
var (
	// Datastore rules.
	DatastoreRemoved        = rule("DS-COMPAT-DATASTORE-REMOVED", problem.Error)
	CaptureKindChanged      = rule("DS-COMPAT-CAPTURE-KIND-CHANGED", problem.Warning)
	ConsistencyChanged      = rule("DS-COMPAT-CONSISTENCY-CHANGED", problem.Warning)
	PrimaryIngestionChanged = rule("DS-COMPAT-PRIMARY-INGESTION-CHANGED", problem.Warning)

	// Dataset rules.
	DatasetAdded                 = rule("DS-COMPAT-DATASET-ADDED", problem.Info)
	DatasetRemoved               = rule("DS-COMPAT-DATASET-REMOVED", problem.Error)
	DatasetNameReused            = rule("DS-COMPAT-DATASET-NAME-REUSED", problem.Error)
	PrimaryKeyChanged            = rule("DS-COMPAT-PRIMARY-KEY-CHANGED", problem.Error)
	PartitionKeyChanged          = rule("DS-COMPAT-PARTITION-KEY-CHANGED", problem.Error)
	DatasetClassificationChanged = rule("DS-COMPAT-DATASET-CLASSIFICATION-CHANGED", problem.Error)

	// Column rules.
	ColumnRemoved               = rule("DS-COMPAT-COLUMN-REMOVED", problem.Error)
	ColumnAddedNotNull          = rule("DS-COMPAT-COLUMN-ADDED-NOT-NULL", problem.Error)
	ColumnNullabilityChanged    = rule("DS-COMPAT-COLUMN-NULLABILITY-CHANGED", problem.Error)
	ColumnClassificationChanged = rule("DS-COMPAT-COLUMN-CLASSIFICATION-CHANGED", problem.Error)
	ColumnWidened               = rule("DS-COMPAT-COLUMN-WIDENED", problem.Info)
	ColumnMoved                 = rule("DS-COMPAT-COLUMN-MOVED", problem.Info)

	// Type rules (spec/governance.md §2.4), all ERROR.
	TypeFamilyChanged      = rule("DS-COMPAT-TYPE-FAMILY-CHANGED", problem.Error)
	TypeNarrowed           = rule("DS-COMPAT-TYPE-NARROWED", problem.Error)
	TypeBoundAdded         = rule("DS-COMPAT-TYPE-BOUND-ADDED", problem.Error)
	TypeCollationChanged   = rule("DS-COMPAT-TYPE-COLLATION-CHANGED", problem.Error)
	TypeTimezoneChanged    = rule("DS-COMPAT-TYPE-TIMEZONE-CHANGED", problem.Error)
	FloatNotRepresentable  = rule("DS-COMPAT-FLOAT-NOT-REPRESENTABLE", problem.Error)
	MXChanged              = rule("DS-COMPAT-MX-CHANGED", problem.Error)
	GeoSRSChanged          = rule("DS-COMPAT-GEO-SRS-CHANGED", problem.Error)
	GeoTypeConstrained     = rule("DS-COMPAT-GEO-TYPE-CONSTRAINED", problem.Error)
	GeoTypeChanged         = rule("DS-COMPAT-GEO-TYPE-CHANGED", problem.Error)
	StructFieldRemoved     = rule("DS-COMPAT-STRUCT-FIELD-REMOVED", problem.Error)
	StructFieldMoved       = rule("DS-COMPAT-STRUCT-FIELD-MOVED", problem.Error)
	StructFieldInserted    = rule("DS-COMPAT-STRUCT-FIELD-INSERTED", problem.Error)
	StructFieldNotNull     = rule("DS-COMPAT-STRUCT-FIELD-NOT-NULL", problem.Error)
	StructFieldNullability = rule("DS-COMPAT-STRUCT-FIELD-NULLABILITY", problem.Error)

	// Platform and assignment rules.
	PlatformMilestoningChanged = rule("DS-COMPAT-PLATFORM-MILESTONING-CHANGED", problem.Error)
	PlatformDatabaseChanged    = rule("DS-COMPAT-PLATFORM-DATABASE-CHANGED", problem.Warning)
	AssignmentStatusRegressed  = rule("DS-COMPAT-ASSIGNMENT-STATUS-REGRESSED", problem.Error)
	AssignmentRemovedActive    = rule("DS-COMPAT-ASSIGNMENT-REMOVED-ACTIVE", problem.Warning)
)

// Rules is the catalogue of spec/governance.md §2.3 in the spec's order.
var Rules = []problem.Rule{
	DatastoreRemoved, CaptureKindChanged, ConsistencyChanged, PrimaryIngestionChanged,
	DatasetAdded, DatasetRemoved, DatasetNameReused, PrimaryKeyChanged, PartitionKeyChanged,
	DatasetClassificationChanged,
	ColumnRemoved, ColumnAddedNotNull, ColumnNullabilityChanged, ColumnClassificationChanged,
	ColumnWidened, ColumnMoved,
	TypeFamilyChanged, TypeNarrowed, TypeBoundAdded, TypeCollationChanged, TypeTimezoneChanged,
	FloatNotRepresentable, MXChanged, GeoSRSChanged, GeoTypeConstrained, GeoTypeChanged,
	StructFieldRemoved, StructFieldMoved, StructFieldInserted, StructFieldNotNull,
	StructFieldNullability,
	PlatformMilestoningChanged, PlatformDatabaseChanged, AssignmentStatusRegressed,
	AssignmentRemovedActive,
}

// rule builds a rule whose name is its id suffix in lower case (DS-COMPAT-COLUMN-REMOVED →
// column-removed).
func rule(id string, sev problem.Severity) problem.Rule {
	const prefix = "DS-COMPAT-"
	name := []byte(id[len(prefix):])
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			name[i] = c + 'a' - 'A'
		}
	}
	return problem.Rule{ID: id, Name: string(name), Severity: sev}
}
