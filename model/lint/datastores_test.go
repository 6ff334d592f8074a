package lint

import (
	"fmt"
	"testing"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

const (
	obPUB = modelv1.ClassificationType_CLASSIFICATION_TYPE_PUB
	obIP  = modelv1.ClassificationType_CLASSIFICATION_TYPE_IP
	obPC1 = modelv1.ClassificationType_CLASSIFICATION_TYPE_PC1
	obPC3 = modelv1.ClassificationType_CLASSIFICATION_TYPE_PC3
)

// obAddStore adds a clean, unconsumed datastore S2 with the given datasets.
func obAddStore(datasets ...*modelv1.Dataset) func(m *modelv1.Model) *modelv1.Datastore {
	return func(m *modelv1.Model) *modelv1.Datastore {
		s := obStore("S2", datasets...)
		m.Datastores = append(m.Datastores, s)
		return s
	}
}

func TestDatastoreRules(t *testing.T) {
	const (
		s2  = "datastore[S2]"
		d2  = "datastore[S2]/dataset[D2]"
		ds  = "datastore[S]/dataset[D]"
		idc = "datastore[S]/dataset[D]/column[id]"
	)
	obRun(t, []obCase{
		{
			name:   "040 datastore without datasets",
			mutate: func(m *modelv1.Model) { obAddStore()(m) },
			want:   []obProblem{obE(RuleDatastoreEmpty, s2, s2, "datastore 'S2' has no datasets")},
		},
		{
			name: "041 PRODUCTION dataset without classifications",
			mutate: func(m *modelv1.Model) {
				s := obAddStore(obDataset("D2", obCol("id", obT("Integer"), false)))(m)
				s.ProductionStatus = modelv1.ProductionStatus_PRODUCTION_STATUS_PRODUCTION
			},
			want: []obProblem{obE(RuleProductionUnclassified, d2, d2, "PRODUCTION datastore 'S2': dataset 'D2' has no classifications")},
		},
		{
			name: "041 PRODUCTION dataset with dataset-level classification is clean",
			mutate: func(m *modelv1.Model) {
				d := obDataset("D2", obCol("id", obT("Integer"), false))
				d.Classifications = obCls(obIP)
				s := obAddStore(d)(m)
				s.ProductionStatus = modelv1.ProductionStatus_PRODUCTION_STATUS_PRODUCTION
			},
		},
		{
			name: "042 column classified under dataset-level classifications",
			mutate: func(m *modelv1.Model) {
				d := obDataset("D2", obCol("id", obT("Integer"), false), obCol("email", obT("VarChar"), true, obPC1))
				d.Classifications = obCls(obIP)
				obAddStore(d)(m)
			},
			keys: []string{d2 + "/column[email]#classifications"},
			want: []obProblem{obE(RuleClassificationConflict, d2+"/column[email]", d2+"/column[email]#classifications",
				"dataset 'D2' has dataset-level classifications, so column 'email' must not have its own")},
		},
		{
			name:   "043 NOT_PRODUCTION dataset without classifications",
			mutate: func(m *modelv1.Model) { obAddStore(obDataset("D2", obCol("id", obT("Integer"), false)))(m) },
			want:   []obProblem{obW(RuleDatasetUnclassified, d2, d2, "dataset 'D2' has no classifications")},
		},
		{
			name: "044 046 primary key column unknown and repeated",
			mutate: func(m *modelv1.Model) {
				obFindStore(m, "S").Datasets[0].PrimaryKey = []string{"id", "nope", "id", "id"}
			},
			keys: []string{ds + "#primaryKey[nope]", ds + "#primaryKey[id]"},
			want: []obProblem{
				obE(RuleKeyColumnRepeated, ds, ds+"#primaryKey[id]", "column 'id' appears twice in the primary key of 'D'"),
				obE(RulePKColumnUnknown, ds, ds+"#primaryKey[nope]", "primary key column 'nope' is not a column of dataset 'D'"),
			},
		},
		{
			name: "045 primary key column nullable, cited at nullable",
			mutate: func(m *modelv1.Model) {
				obFindStore(m, "S").Datasets[0].Columns[0].Nullable = true
			},
			keys: []string{idc + "#nullable"},
			want: []obProblem{obE(RulePKColumnNullable, idc, idc+"#nullable", "primary key column 'id' of dataset 'D' must be nullable: false")},
		},
		{
			name: "045 primary key column nullable by default, cited at the column",
			mutate: func(m *modelv1.Model) {
				d := obFindStore(m, "S").Datasets[0]
				d.PrimaryKey = []string{"name"}
			},
			want: []obProblem{obE(RulePKColumnNullable, ds+"/column[name]", ds+"/column[name]",
				"primary key column 'name' of dataset 'D' must be nullable: false")},
		},
		{
			name: "047 048 046 partition key",
			mutate: func(m *modelv1.Model) {
				obFindStore(m, "S").Datasets[0].PartitionKey = []string{"name", "ghost", "name"}
			},
			keys: []string{ds + "#partitionKey[ghost]", ds + "#partitionKey[name]"},
			want: []obProblem{
				obE(RulePartitionColumnUnknown, ds, ds+"#partitionKey[ghost]", "partition column 'ghost' is not a column of dataset 'D'"),
				obE(RuleKeyColumnRepeated, ds, ds+"#partitionKey[name]", "column 'name' appears twice in the partition key of 'D'"),
				obE(RulePartitionColumnNullable, ds+"/column[name]", ds+"/column[name]", "partition column 'name' of dataset 'D' must be nullable: false"),
			},
		},
		{
			name: "044 045 long key over a wide dataset uses a column map",
			mutate: func(m *modelv1.Model) {
				d := obFindStore(m, "S").Datasets[0]
				for i := range 70 {
					d.Columns = append(d.Columns, obCol(fmt.Sprintf("c%02d", i), obT("Integer"), i != 5))
				}
				d.PrimaryKey = []string{"id", "c00", "c01", "c02", "c03", "c04", "c05", "c06", "c07", "c08", "c99"}
			},
			want: []obProblem{
				obE(RulePKColumnNullable, ds+"/column[c00]", ds+"/column[c00]", "primary key column 'c00' of dataset 'D' must be nullable: false"),
				obE(RulePKColumnNullable, ds+"/column[c01]", ds+"/column[c01]", "primary key column 'c01' of dataset 'D' must be nullable: false"),
				obE(RulePKColumnNullable, ds+"/column[c02]", ds+"/column[c02]", "primary key column 'c02' of dataset 'D' must be nullable: false"),
				obE(RulePKColumnNullable, ds+"/column[c03]", ds+"/column[c03]", "primary key column 'c03' of dataset 'D' must be nullable: false"),
				obE(RulePKColumnNullable, ds+"/column[c04]", ds+"/column[c04]", "primary key column 'c04' of dataset 'D' must be nullable: false"),
				obE(RulePKColumnNullable, ds+"/column[c06]", ds+"/column[c06]", "primary key column 'c06' of dataset 'D' must be nullable: false"),
				obE(RulePKColumnNullable, ds+"/column[c07]", ds+"/column[c07]", "primary key column 'c07' of dataset 'D' must be nullable: false"),
				obE(RulePKColumnNullable, ds+"/column[c08]", ds+"/column[c08]", "primary key column 'c08' of dataset 'D' must be nullable: false"),
				obE(RulePKColumnUnknown, ds, ds, "primary key column 'c99' is not a column of dataset 'D'"),
			},
		},
		{
			name: "056 approvals naming unknown workspace, dsg and dataset",
			mutate: func(m *modelv1.Model) {
				obFindStore(m, "S").Approvals = &modelv1.Approvals{Entries: []*modelv1.Approval{
					{Workspace: "W", DatasetGroup: "G", Dataset: "D"},
					{Workspace: "Ghost", DatasetGroup: "G", Dataset: "D"},
					{Workspace: "W", DatasetGroup: "H", Dataset: "D"},
					{Workspace: "W", DatasetGroup: "G", Dataset: "X"},
				}}
			},
			keys: []string{"datastore[S]#approvals[Ghost.G.D]", "datastore[S]#approvals[W.H.D]", "datastore[S]#approvals[W.G.X]"},
			want: []obProblem{
				obW(RuleApprovalTargetUnknown, "datastore[S]", "datastore[S]#approvals[Ghost.G.D]", "approval names workspace 'Ghost', which does not exist"),
				obW(RuleApprovalTargetUnknown, "datastore[S]", "datastore[S]#approvals[W.G.X]", "approval names dataset 'X', which does not exist"),
				obW(RuleApprovalTargetUnknown, "datastore[S]", "datastore[S]#approvals[W.H.D]", "approval names dsg 'W.H', which does not exist"),
			},
		},
	})
}

func TestTypeRules(t *testing.T) {
	const (
		col = "datastore[S]/dataset[D]/column[x]"
		ty  = col + "#type"
	)
	i64 := func(v int64) *int64 { return &v }
	withType := func(dt *modelv1.DataType) func(m *modelv1.Model) {
		return func(m *modelv1.Model) {
			d := obFindStore(m, "S").Datasets[0]
			d.Columns = append(d.Columns, obCol("x", dt, true))
		}
	}
	ts := func(tz string) *modelv1.DataType { return &modelv1.DataType{Name: "Timestamp", TimeZone: tz} }
	obRun(t, []obCase{
		{
			name:   "049 VarChar maxSize 0",
			mutate: withType(obVarChar(0)),
			keys:   []string{ty, ty + ".maxSize"},
			want:   []obProblem{obE(RuleTypeSizeInvalid, col, ty+".maxSize", "VarChar maxSize must be greater than 0, found 0")},
		},
		{
			name:   "049 nested array element, shorthand falls back to the type node",
			mutate: withType(&modelv1.DataType{Name: "Array", MaxSize: i64(-1), ElementType: &modelv1.DataType{Name: "Binary", MaxSize: i64(0)}}),
			keys:   []string{ty},
			want: []obProblem{
				obE(RuleTypeSizeInvalid, col, ty, "Array maxSize must be greater than 0, found -1"),
				obE(RuleTypeSizeInvalid, col, ty, "Binary maxSize must be greater than 0, found 0"),
			},
		},
		{
			name: "049 valid bounded and unbounded sizes",
			mutate: withType(&modelv1.DataType{Name: "Map", KeyType: &modelv1.DataType{Name: "NChar", MaxSize: i64(1)},
				ValueType: &modelv1.DataType{Name: "Variant"}}),
		},
		{
			name:   "050 Decimal precision 0",
			mutate: withType(&modelv1.DataType{Name: "Decimal", Precision: 0}),
			keys:   []string{ty, ty + ".precision", ty + ".scale"},
			want:   []obProblem{obE(RuleDecimalInvalid, col, ty+".precision", "Decimal(0,0): precision must be 1–1000 and scale 0–precision")},
		},
		{
			name:   "050 Decimal scale above precision",
			mutate: withType(&modelv1.DataType{Name: "Decimal", Precision: 5, Scale: 6}),
			keys:   []string{ty, ty + ".precision", ty + ".scale"},
			want:   []obProblem{obE(RuleDecimalInvalid, col, ty+".scale", "Decimal(5,6): precision must be 1–1000 and scale 0–precision")},
		},
		{
			name:   "050 Decimal bounds are valid",
			mutate: withType(&modelv1.DataType{Name: "Decimal", Precision: 1000, Scale: 1000}),
		},
		{
			name: "051 CustomFloat every constraint",
			mutate: withType(&modelv1.DataType{Name: "CustomFloat", SizeInBits: 0, MinExponent: 1, MaxExponent: 0, Precision: 0,
				NonFinite: modelv1.FloatNonFinite_FLOAT_NON_FINITE_NAN_ONLY, NanEncoding: modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_IEEE}),
			keys: []string{ty},
			want: []obProblem{
				obE(RuleFloatInvalid, col, ty, "CustomFloat: maxExponent must be greater than 0, found 0"),
				obE(RuleFloatInvalid, col, ty, "CustomFloat: minExponent must be ≤ 0, found 1"),
				obE(RuleFloatInvalid, col, ty, "CustomFloat: nonFinite NAN_ONLY cannot be combined with nanEncoding IEEE"),
				obE(RuleFloatInvalid, col, ty, "CustomFloat: precision must be 1–sizeInBits (0), found 0"),
				obE(RuleFloatInvalid, col, ty, "CustomFloat: sizeInBits must be greater than 0, found 0"),
			},
		},
		{
			name:   "051 CustomFloat precision above size",
			mutate: withType(&modelv1.DataType{Name: "CustomFloat", SizeInBits: 8, MinExponent: -6, MaxExponent: 7, Precision: 9}),
			keys:   []string{ty + ".precision"},
			want:   []obProblem{obE(RuleFloatInvalid, col, ty+".precision", "CustomFloat: precision must be 1–sizeInBits (8), found 9")},
		},
		{
			name: "051 CustomFloat valid FNUZ-like combination",
			mutate: withType(&modelv1.DataType{Name: "CustomFloat", SizeInBits: 8, MinExponent: -7, MaxExponent: 7, Precision: 4,
				NonFinite: modelv1.FloatNonFinite_FLOAT_NON_FINITE_NAN_ONLY, NanEncoding: modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_NEGATIVE_ZERO}),
		},
		{
			name:   "052 MicroScalingFloat batch and scale",
			mutate: withType(&modelv1.DataType{Name: "MicroScalingFloat", BatchSize: 0, ScaleType: "E8", MxElementType: "IEEE16"}),
			keys:   []string{ty, ty + ".scaleType"},
			want: []obProblem{
				obE(RuleMXInvalid, col, ty, "MicroScalingFloat: batchSize must be greater than 0, found 0"),
				obE(RuleMXInvalid, col, ty+".scaleType", "MicroScalingFloat: scaleType 'E8' is not a float type"),
			},
		},
		{
			name:   "052 MicroScalingFloat element not a float",
			mutate: withType(&modelv1.DataType{Name: "MicroScalingFloat", BatchSize: 16, ScaleType: "FP8_E8M0", MxElementType: "Integer"}),
			keys:   []string{ty + ".elementType"},
			want:   []obProblem{obE(RuleMXInvalid, col, ty+".elementType", "MicroScalingFloat: elementType 'Integer' is not a float type")},
		},
		{
			name:   "053 Geography srid and maxSize",
			mutate: withType(&modelv1.DataType{Name: "Geography", Srid: -1, MaxSize: i64(0)}),
			keys:   []string{ty + ".srid", ty + ".maxSize"},
			want: []obProblem{
				obE(RuleGeographyInvalid, col, ty+".maxSize", "Geography: maxSize must be > 0"),
				obE(RuleGeographyInvalid, col, ty+".srid", "Geography: srid must be ≥ 0"),
			},
		},
		{
			name: "054 Struct field names, duplicates, missing type, nested types",
			mutate: withType(&modelv1.DataType{Name: "Struct", Fields: []*modelv1.StructField{
				{Name: "1bad", Type: obT("Integer")},
				{Name: "select", Type: obT("Integer")},
				{Name: "a", Type: obT("Integer")},
				{Name: "A", Type: obT("Integer")},
				{Name: "a", Type: obT("Integer")},
				{Name: "b"},
				{Name: "c", Type: obVarChar(0)},
			}}),
			keys: []string{ty, ty + ".fields[b]", ty + ".fields[A].name", ty + ".fields[c].type"},
			want: []obProblem{
				obE(RuleStructInvalid, col, ty, "Struct field '1bad': name must start with a letter and contain only letters, digits and '_' (at most 128)"),
				obE(RuleStructInvalid, col, ty, "Struct field 'a': name is used twice"),
				obE(RuleStructInvalid, col, ty, "Struct field 'select': name is a reserved SQL word"),
				obE(RuleStructInvalid, col, ty+".fields[A].name", "Struct field 'A': name differs from 'a' only by letter case"),
				obE(RuleStructInvalid, col, ty+".fields[b]", "Struct field 'b': type is missing"),
				obE(RuleTypeSizeInvalid, col, ty+".fields[c].type", "VarChar maxSize must be greater than 0, found 0"),
			},
		},
		{
			name:   "055 unknown IANA zone",
			mutate: withType(ts("Mars/Olympus_Mons")),
			keys:   []string{ty + ".timeZone"},
			want:   []obProblem{obE(RuleTimezoneUnknown, col, ty+".timeZone", "Timestamp time zone 'Mars/Olympus_Mons' is not known")},
		},
		{
			name: "055 known zones and offsets",
			mutate: func(m *modelv1.Model) {
				d := obFindStore(m, "S").Datasets[0]
				for i, tz := range []string{"", "UTC", "Europe/Paris", "America/Argentina/Buenos_Aires", "GMT+05", "GMT-03:30", "GMT+14:00", "Etc/GMT+5"} {
					d.Columns = append(d.Columns, obCol("t"+string(rune('a'+i)), ts(tz), true))
				}
			},
		},
		{
			name: "055 malformed offsets and Local",
			mutate: func(m *modelv1.Model) {
				d := obFindStore(m, "S").Datasets[0]
				for i, tz := range []string{"GMT+5", "GMT+15", "GMT+05:60", "GMT*05", "Local", "../etc/passwd", "europe/paris"} {
					d.Columns = append(d.Columns, obCol("t"+string(rune('a'+i)), ts(tz), true))
				}
			},
			want: []obProblem{
				obE(RuleTimezoneUnknown, "datastore[S]/dataset[D]/column[ta]", "datastore[S]/dataset[D]/column[ta]", "Timestamp time zone 'GMT+5' is not known"),
				obE(RuleTimezoneUnknown, "datastore[S]/dataset[D]/column[tb]", "datastore[S]/dataset[D]/column[tb]", "Timestamp time zone 'GMT+15' is not known"),
				obE(RuleTimezoneUnknown, "datastore[S]/dataset[D]/column[tc]", "datastore[S]/dataset[D]/column[tc]", "Timestamp time zone 'GMT+05:60' is not known"),
				obE(RuleTimezoneUnknown, "datastore[S]/dataset[D]/column[td]", "datastore[S]/dataset[D]/column[td]", "Timestamp time zone 'GMT*05' is not known"),
				obE(RuleTimezoneUnknown, "datastore[S]/dataset[D]/column[te]", "datastore[S]/dataset[D]/column[te]", "Timestamp time zone 'Local' is not known"),
				obE(RuleTimezoneUnknown, "datastore[S]/dataset[D]/column[tf]", "datastore[S]/dataset[D]/column[tf]", "Timestamp time zone '../etc/passwd' is not known"),
				obE(RuleTimezoneUnknown, "datastore[S]/dataset[D]/column[tg]", "datastore[S]/dataset[D]/column[tg]", "Timestamp time zone 'europe/paris' is not known"),
			},
		},
	})
}
