package equal_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/datasurface/datasurface/model/compat/equal"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// step navigates from a message to one of its sub-messages (index ≥ 0: a list element).
type step struct {
	fd    protoreflect.FieldDescriptor
	index int
}

type mutation struct {
	what string
	msg  proto.Message
}

// mutations returns one copy of root per field of every message reachable from it (populated
// or not), each differing from root in that one field: scalars changed, optional and one-of
// fields set or cleared, sub-messages set or cleared, lists and maps grown.
func mutations(root proto.Message) []mutation {
	var out []mutation
	var walk func(path []step, name string, m protoreflect.Message)
	walk = func(path []step, name string, m protoreflect.Message) {
		fields := m.Descriptor().Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			c := proto.Clone(root)
			target := navigate(c.ProtoReflect(), path)
			if mutate(target, fd) {
				out = append(out, mutation{what: name + "." + string(fd.Name()), msg: c})
			}
			if fd.Message() == nil || fd.IsMap() || !m.Has(fd) {
				continue
			}
			if fd.IsList() {
				l := m.Get(fd).List()
				for j := range l.Len() {
					walk(append(append([]step(nil), path...), step{fd, j}), fmt.Sprintf("%s.%s[%d]", name, fd.Name(), j), l.Get(j).Message())
				}
				continue
			}
			walk(append(append([]step(nil), path...), step{fd, -1}), name+"."+string(fd.Name()), m.Get(fd).Message())
		}
	}
	walk(nil, string(root.ProtoReflect().Descriptor().Name()), root.ProtoReflect())
	return out
}

func navigate(m protoreflect.Message, path []step) protoreflect.Message {
	for _, s := range path {
		if s.index >= 0 {
			m = m.Get(s.fd).List().Get(s.index).Message()
		} else {
			m = m.Get(s.fd).Message()
		}
	}
	return m
}

func mutate(m protoreflect.Message, fd protoreflect.FieldDescriptor) bool {
	switch {
	case fd.IsMap():
		if fd.MapKey().Kind() != protoreflect.StringKind || fd.MapValue().Kind() != protoreflect.StringKind {
			return false
		}
		m.Mutable(fd).Map().Set(protoreflect.ValueOfString("mutated").MapKey(), protoreflect.ValueOfString("v"))
	case fd.IsList():
		l := m.Mutable(fd).List()
		l.Append(l.NewElement())
	case fd.Message() != nil:
		if m.Has(fd) {
			m.Clear(fd)
		} else {
			m.Set(fd, protoreflect.ValueOfMessage(m.NewField(fd).Message()))
		}
	case fd.HasPresence() && !m.Has(fd):
		m.Set(fd, m.NewField(fd))
	default:
		v := m.Get(fd)
		switch fd.Kind() {
		case protoreflect.StringKind:
			m.Set(fd, protoreflect.ValueOfString(v.String()+"x"))
		case protoreflect.BoolKind:
			m.Set(fd, protoreflect.ValueOfBool(!v.Bool()))
		case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
			m.Set(fd, protoreflect.ValueOfInt32(int32(v.Int())+1))
		case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
			m.Set(fd, protoreflect.ValueOfInt64(v.Int()+1))
		case protoreflect.EnumKind:
			m.Set(fd, protoreflect.ValueOfEnum(v.Enum()+1))
		default:
			panic(fmt.Sprintf("mutate: unhandled kind %v of %s", fd.Kind(), fd.FullName()))
		}
	}
	return true
}

func doc(s string) *modelv1.Documentation {
	md := "**" + s + "**"
	return &modelv1.Documentation{Description: s, Markdown: &md, Tags: map[string]string{"k": "v"}}
}

func host(h string) *modelv1.HostDatabase {
	return &modelv1.HostDatabase{Name: "c", Locations: []string{"Acme:EU"}, Documentation: doc("db"),
		Encryption: &modelv1.Encryption{
			ServerSide: []*modelv1.EncryptionKey{{Name: "k", KeyContainer: "kc", ThirdPartySuperUser: true}},
			ClientSide: []*modelv1.EncryptionKey{{Name: "k2"}},
		}, ReadOnly: true, Host: h, Port: 5432, Database: "db"}
}

func richType() *modelv1.DataType {
	n := int64(10)
	leaf := &modelv1.DataType{Name: "VarChar", MaxSize: &n, Collation: "C", Precision: 1, Scale: 1, TimeZone: "UTC",
		MaxExponent: 1, MinExponent: -1, SizeInBits: 8, NonFinite: modelv1.FloatNonFinite_FLOAT_NON_FINITE_IEEE754,
		NanEncoding: modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_IEEE, BatchSize: 32, ScaleType: "FP8_E8M0",
		MxElementType: "FP8_E4M3", Srid: 4326, SrsName: "WGS84", GeometryType: modelv1.GeometryType_GEOMETRY_TYPE_POINT}
	return &modelv1.DataType{Name: "Struct", ElementType: leaf, KeyType: leaf, ValueType: leaf,
		Fields: []*modelv1.StructField{{Name: "f", Type: leaf, Nullable: true}}}
}

func datastore(capture *modelv1.CaptureMetadata) *modelv1.Datastore {
	return &modelv1.Datastore{
		Name: "S", Zone: "Z", Team: "T", Documentation: doc("s"),
		ProductionStatus: modelv1.ProductionStatus_PRODUCTION_STATUS_PRODUCTION,
		Deprecation:      &modelv1.Deprecation{Status: modelv1.DeprecationStatus_DEPRECATION_STATUS_DEPRECATED, Reason: doc("r")},
		Capture:          capture,
		Approvals:        &modelv1.Approvals{Entries: []*modelv1.Approval{{Workspace: "W", DatasetGroup: "G", Dataset: "D"}}},
		Datasets: []*modelv1.Dataset{{
			Name: "D", Documentation: doc("d"),
			Classifications: []*modelv1.Classification{{Type: modelv1.ClassificationType_CLASSIFICATION_TYPE_IP, Label: "l"}},
			StoragePolicies: []string{"p"},
			Deprecation:     &modelv1.Deprecation{Status: modelv1.DeprecationStatus_DEPRECATION_STATUS_NOT_DEPRECATED},
			PrimaryKey:      []string{"c"}, PartitionKey: []string{"c"},
			Columns: []*modelv1.Column{{Name: "c", Type: richType(), Nullable: true, Documentation: doc("c"),
				Classifications: []*modelv1.Classification{{Type: modelv1.ClassificationType_CLASSIFICATION_TYPE_PC1}}}},
		}},
	}
}

func container(c any) *modelv1.DataContainer {
	switch c := c.(type) {
	case *modelv1.DataContainer_Postgres:
		return &modelv1.DataContainer{Kind: c}
	case *modelv1.DataContainer_Mysql:
		return &modelv1.DataContainer{Kind: c}
	case *modelv1.DataContainer_Oracle:
		return &modelv1.DataContainer{Kind: c}
	case *modelv1.DataContainer_SqlServer:
		return &modelv1.DataContainer{Kind: c}
	case *modelv1.DataContainer_Db2:
		return &modelv1.DataContainer{Kind: c}
	case *modelv1.DataContainer_Snowflake:
		return &modelv1.DataContainer{Kind: c}
	case *modelv1.DataContainer_Kafka:
		return &modelv1.DataContainer{Kind: c}
	case *modelv1.DataContainer_ObjectStorage:
		return &modelv1.DataContainer{Kind: c}
	case *modelv1.DataContainer_PlatformManaged:
		return &modelv1.DataContainer{Kind: c}
	case *modelv1.DataContainer_Ref:
		return &modelv1.DataContainer{Kind: c}
	}
	panic("container")
}

var cred = &modelv1.Credential{Name: "C", Type: modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD}

func datastores() []*modelv1.Datastore {
	enc := host("h").Encryption
	return []*modelv1.Datastore{
		datastore(&modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlSnapshot{SqlSnapshot: &modelv1.SqlSnapshotCapture{
			Container: container(&modelv1.DataContainer_Postgres{Postgres: host("pg")}), Credential: cred,
			Consistency:  modelv1.Consistency_CONSISTENCY_MULTI_DATASET,
			Trigger:      &modelv1.Trigger{Kind: &modelv1.Trigger_Cron{Cron: "* * * * *"}},
			SourceTables: map[string]string{"D": "t"}}}}),
		datastore(&modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlWatermark{SqlWatermark: &modelv1.SqlWatermarkCapture{
			Container: container(&modelv1.DataContainer_Snowflake{Snowflake: &modelv1.SnowflakeDatabase{
				Name: "sf", Locations: []string{"L"}, Documentation: doc("sf"), Encryption: enc, ReadOnly: true,
				Account: "a", Database: "d", Warehouse: "w", Schema: "s", Role: "r"}}),
			Credential: cred, Consistency: modelv1.Consistency_CONSISTENCY_SINGLE_DATASET,
			Trigger:      &modelv1.Trigger{Kind: &modelv1.Trigger_External{External: &modelv1.External{}}},
			SourceTables: map[string]string{"D": "t"}, WatermarkColumn: "w"}}}),
		datastore(&modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_KafkaCdc{KafkaCdc: &modelv1.KafkaCdcCapture{
			Container: container(&modelv1.DataContainer_Kafka{Kafka: &modelv1.KafkaCluster{
				Name: "k", Locations: []string{"L"}, Documentation: doc("k"), Encryption: enc, ReadOnly: true,
				BootstrapServers: []string{"k:9092"}}}),
			Credential: cred, Consistency: modelv1.Consistency_CONSISTENCY_SINGLE_DATASET,
			Trigger: &modelv1.Trigger{Kind: &modelv1.Trigger_Cron{Cron: "* * * * *"}},
			Format:  modelv1.CdcFormat_CDC_FORMAT_DEBEZIUM_POSTGRES_JSON, Topics: map[string]string{"D": "t"}, TopicPrefix: "p"}}}),
		datastore(&modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_TransformerOutput{
			TransformerOutput: &modelv1.TransformerOutputCapture{Workspace: "W"}}}),
		datastore(&modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlSnapshot{SqlSnapshot: &modelv1.SqlSnapshotCapture{
			Container: container(&modelv1.DataContainer_ObjectStorage{ObjectStorage: &modelv1.ObjectStorage{
				Name: "o", Locations: []string{"L"}, Documentation: doc("o"), Encryption: enc, ReadOnly: true,
				Endpoint: "e", Bucket: "b", Prefix: "p"}})}}}),
		datastore(&modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlSnapshot{SqlSnapshot: &modelv1.SqlSnapshotCapture{
			Container: container(&modelv1.DataContainer_Mysql{Mysql: host("my")})}}}),
		datastore(&modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlSnapshot{SqlSnapshot: &modelv1.SqlSnapshotCapture{
			Container: container(&modelv1.DataContainer_Oracle{Oracle: host("or")})}}}),
		datastore(&modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlSnapshot{SqlSnapshot: &modelv1.SqlSnapshotCapture{
			Container: container(&modelv1.DataContainer_SqlServer{SqlServer: host("ss")})}}}),
		datastore(&modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlSnapshot{SqlSnapshot: &modelv1.SqlSnapshotCapture{
			Container: container(&modelv1.DataContainer_Db2{Db2: host("db2")})}}}),
		datastore(&modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlSnapshot{SqlSnapshot: &modelv1.SqlSnapshotCapture{
			Container: container(&modelv1.DataContainer_Ref{Ref: "team_pg"})}}}),
	}
}

func workspaces() []*modelv1.Workspace {
	w := func(code *modelv1.TransformerCode, c *modelv1.DataContainer) *modelv1.Workspace {
		return &modelv1.Workspace{
			Name: "W", Zone: "Z", Team: "T", Documentation: doc("w"),
			ProductionStatus: modelv1.ProductionStatus_PRODUCTION_STATUS_PRODUCTION,
			Deprecation:      &modelv1.Deprecation{Status: modelv1.DeprecationStatus_DEPRECATION_STATUS_DEPRECATED, Reason: doc("r")},
			Priority:         modelv1.Priority_PRIORITY_HIGH,
			Container:        c,
			ClassificationPolicy: &modelv1.AllowDenyPolicy{Name: "p", Documentation: doc("p"),
				Allowed: []string{"PUB"}, NotAllowed: []string{"PC3"}},
			Access: &modelv1.Access{Consumers: []string{"bi"},
				ApprovedClassifications: []modelv1.ClassificationType{modelv1.ClassificationType_CLASSIFICATION_TYPE_PUB}},
			DatasetGroups: []*modelv1.DatasetGroup{{
				Name: "G", Documentation: doc("g"),
				PlatformRequirements: &modelv1.PlatformRequirements{Milestoning: modelv1.Milestoning_MILESTONING_FORENSIC,
					Latency: modelv1.Latency_LATENCY_HOURS, Regulator: "r", MinRetention: "P1D"},
				Sinks: []*modelv1.DatasetSink{{Datastore: "S", Dataset: "D",
					DeprecationsAllowed: modelv1.DeprecationsAllowed_DEPRECATIONS_ALLOWED_ALLOWED}},
			}},
			Transformer: &modelv1.DataTransformer{Name: "x", OutputDatastore: "O",
				Trigger: &modelv1.Trigger{Kind: &modelv1.Trigger_Cron{Cron: "0 * * * *"}}, Documentation: doc("x"), Code: code},
		}
	}
	return []*modelv1.Workspace{
		w(&modelv1.TransformerCode{Kind: &modelv1.TransformerCode_Sql{Sql: &modelv1.SqlTransformerCode{
			Queries: map[string]string{"O": "SELECT 1"}}}},
			container(&modelv1.DataContainer_PlatformManaged{PlatformManaged: &modelv1.PlatformManaged{Name: "pm", Documentation: doc("pm")}})),
		w(&modelv1.TransformerCode{Kind: &modelv1.TransformerCode_Image{Image: &modelv1.ImageTransformerCode{
			Image: "i", Args: []string{"a"}, Env: map[string]string{"E": "v"}}}},
			container(&modelv1.DataContainer_Postgres{Postgres: host("ws")})),
	}
}

func assignment() *modelv1.DatasetGroupAssignment {
	return &modelv1.DatasetGroupAssignment{Workspace: "W", DatasetGroup: "G", Platforms: []*modelv1.PlatformAssignment{{
		Platform: "D", Status: modelv1.AssignmentStatus_ASSIGNMENT_STATUS_PROVISIONED,
		ProductionStatus:    modelv1.ProductionStatus_PRODUCTION_STATUS_PRODUCTION,
		DeprecationsAllowed: modelv1.DeprecationsAllowed_DEPRECATIONS_ALLOWED_ALLOWED, Documentation: doc("a"),
	}}}
}

// check asserts that eq agrees with proto.Equal on m and a copy, and on every mutation of m.
func check[M proto.Message](t *testing.T, m M, eq func(a, b M) bool) {
	t.Helper()
	if !eq(m, proto.Clone(m).(M)) {
		t.Errorf("%T: a copy is reported different", m)
	}
	for _, mu := range mutations(m) {
		want := proto.Equal(m, mu.msg)
		if got := eq(m, mu.msg.(M)); got != want {
			t.Errorf("mutating %s: equal = %v, proto.Equal = %v", mu.what, got, want)
		}
		if got := eq(mu.msg.(M), m); got != want {
			t.Errorf("mutating %s (swapped): equal = %v, proto.Equal = %v", mu.what, got, want)
		}
	}
}

func TestDatastore(t *testing.T) {
	for _, s := range datastores() {
		check(t, s, equal.Datastore)
	}
}

func TestWorkspace(t *testing.T) {
	for _, w := range workspaces() {
		check(t, w, equal.Workspace)
	}
}

func TestAssignment(t *testing.T) {
	check(t, assignment(), equal.DatasetGroupAssignment)
	check(t, assignment().GetPlatforms()[0], equal.PlatformAssignment)
}

func TestNil(t *testing.T) {
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"nil datastores", equal.Datastore(nil, nil), true},
		{"nil and empty datastore", equal.Datastore(nil, &modelv1.Datastore{}), false},
		{"nil and empty type", equal.DataType(&modelv1.DataType{}, nil), false},
		{"empty workspaces", equal.Workspace(&modelv1.Workspace{}, &modelv1.Workspace{}), true},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestPair(t *testing.T) {
	ds := func(names ...string) []*modelv1.Datastore {
		out := make([]*modelv1.Datastore, len(names))
		for i, n := range names {
			out[i] = &modelv1.Datastore{Name: n}
		}
		return out
	}
	type result struct {
		Head    []string // "" for none
		Changed []bool
		Added   []string
	}
	names := func(ss []*modelv1.Datastore) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.GetName())
		}
		return out
	}
	tests := []struct {
		name       string
		base, head []*modelv1.Datastore
		want       result
	}{
		{"sorted", ds("A", "B", "D"), ds("B", "C", "D", "E"),
			result{[]string{"", "B", "D"}, []bool{true, false, false}, []string{"C", "E"}}},
		{"unsorted", ds("D", "A", "B"), ds("E", "B", "C", "D"),
			result{[]string{"D", "", "B"}, []bool{false, true, false}, []string{"E", "C"}}},
		{"empty head", ds("A"), nil, result{[]string{""}, []bool{true}, nil}},
		{"empty base", nil, ds("A"), result{[]string{}, []bool{}, []string{"A"}}},
		{"repeated names use the first", ds("A", "A"), ds("A", "A"),
			result{[]string{"A", ""}, []bool{false, true}, []string{"A"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.head = append([]*modelv1.Datastore(nil), tt.head...)
			p := equal.Pair(tt.base, tt.head, (*modelv1.Datastore).GetName, equal.Datastore)
			got := result{Head: []string{}, Changed: p.Changed, Added: names(p.Added)}
			for _, h := range p.Head {
				got.Head = append(got.Head, h.GetName())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Pair mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUnequalParallel(t *testing.T) {
	n := 5000
	a, b := make([]int, n), make([]int, n)
	for i := range n {
		a[i], b[i] = i, i
		if i%7 == 0 {
			b[i] = -1
		}
	}
	got := equal.Unequal(a, b, func(x, y int) bool { return x == y })
	for i, g := range got {
		if g != (i%7 == 0) {
			t.Fatalf("Unequal[%d] = %v", i, g)
		}
	}
}
