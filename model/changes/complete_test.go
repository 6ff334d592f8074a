package changes_test

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/datasurface/datasurface/model/changes"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// TestDiffComplete checks that every observable difference yields at least one change: it
// mutates every field of every message of a model (one field at a time, in both directions)
// and expects a non-empty change set each time. (The mutation generator mirrors the one of
// package equal's tests.)
func TestDiffComplete(t *testing.T) {
	models := []*modelv1.Model{fullModel(), richModel()}
	n := 0
	for _, m := range models {
		for _, mu := range mutations(m) {
			n++
			if proto.Equal(m, mu.msg) || mu.what == "Model.teams" || mu.what == "Model.zones" {
				// Appending an empty Team or GovernanceZone document is no change: "declared
				// but empty" is undefined (governance.md §1.1).
				continue
			}
			head := mu.msg.(*modelv1.Model)
			if got := changes.Diff(m, head); len(got) == 0 {
				t.Errorf("mutating %s: Diff(base, mutated) is empty", mu.what)
			}
			if got := changes.Diff(head, m); len(got) == 0 {
				t.Errorf("mutating %s: Diff(mutated, base) is empty", mu.what)
			}
		}
	}
	if n < 500 {
		t.Errorf("only %d mutations generated", n)
	}
}

// richModel adds to fullModel the objects fullModel leaves empty: deprecations, approvals,
// storage policies, encryption, credential store and platform settings, a rich type.
func richModel() *modelv1.Model {
	m := fullModel()
	md := "**m**"
	m.Ecosystem.Documentation = &modelv1.Documentation{Description: "d", Markdown: &md, Tags: map[string]string{"k": "v"}}
	m.Zones[0].StoragePolicies = []*modelv1.StoragePolicy{{Name: "sp", Documentation: doc("sp"),
		Mandatory:   modelv1.StoragePolicyMandate_STORAGE_POLICY_MANDATE_MANDATED_WITHIN_ZONE,
		Deprecation: &modelv1.Deprecation{Status: modelv1.DeprecationStatus_DEPRECATION_STATUS_DEPRECATED, Reason: doc("r")}}}
	m.Zones[0].VendorPolicies = []*modelv1.AllowDenyPolicy{{Name: "v", Allowed: []string{"Acme"}}}
	m.Zones[0].HardVendorPolicies = []*modelv1.AllowDenyPolicy{{Name: "h", NotAllowed: []string{"AWS"}}}
	m.Zones[0].PlatformPolicies = []*modelv1.AllowDenyPolicy{{Name: "p", Allowed: []string{"YellowLive"}}}
	m.Teams[0].Containers = []*modelv1.DataContainer{{Kind: &modelv1.DataContainer_Postgres{Postgres: &modelv1.HostDatabase{
		Name: "pg", Host: "h", Port: 5432, Database: "d", Locations: []string{"Acme:EU"},
		Encryption: &modelv1.Encryption{ServerSide: []*modelv1.EncryptionKey{{Name: "k", KeyContainer: "c", ThirdPartySuperUser: true}}}}}}}
	s := store(m, "Sales")
	s.Documentation = doc("s")
	s.Deprecation = &modelv1.Deprecation{Status: modelv1.DeprecationStatus_DEPRECATION_STATUS_NOT_DEPRECATED, Reason: doc("r")}
	s.Approvals = &modelv1.Approvals{Entries: []*modelv1.Approval{{Workspace: "Analytics", DatasetGroup: "main", Dataset: "orders"}}}
	capture(m, "Sales").SourceTables = map[string]string{"orders": "public.orders", "customers": "public.customers"}
	ds := dataset(m, "Sales", "orders")
	ds.StoragePolicies = []string{"sp"}
	ds.Documentation = doc("o")
	ds.Deprecation = &modelv1.Deprecation{Status: modelv1.DeprecationStatus_DEPRECATION_STATUS_NOT_DEPRECATED}
	n := int64(4)
	leaf := &modelv1.DataType{Name: "VarChar", MaxSize: &n, Collation: "C"}
	ds.Columns = append(ds.Columns, &modelv1.Column{Name: "rich", Nullable: true, Documentation: doc("r"),
		Classifications: []*modelv1.Classification{{Type: modelv1.ClassificationType_CLASSIFICATION_TYPE_PC1, Label: "l"}},
		Type: &modelv1.DataType{Name: "Struct", ElementType: leaf, KeyType: leaf, ValueType: leaf,
			Fields: []*modelv1.StructField{{Name: "f", Type: leaf, Nullable: true}}}})
	w := workspace(m, "Analytics")
	w.Documentation = doc("w")
	w.Deprecation = &modelv1.Deprecation{Status: modelv1.DeprecationStatus_DEPRECATION_STATUS_NOT_DEPRECATED, Reason: doc("r")}
	w.ClassificationPolicy = &modelv1.AllowDenyPolicy{Name: "cp", Documentation: doc("cp"), Allowed: []string{"PUB"}}
	w.DatasetGroups[0].Documentation = doc("g")
	w.DatasetGroups[0].PlatformRequirements.Regulator = "r"
	w.DatasetGroups[0].PlatformRequirements.MinRetention = "P1D"
	tx := workspace(m, "Totals").Transformer
	tx.Documentation = doc("t")
	tx.Trigger = cron("0 * * * *")
	y := m.Psps[0].Platforms[0].GetYellow()
	y.SecurityCredential = &modelv1.Credential{Name: "SEC", Type: modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD}
	y.RawArchive = &modelv1.RawArchive{Bucket: "b", Prefix: "p", Credential: &modelv1.Credential{Name: "S3"}}
	y.StreamOverrides = []*modelv1.StreamOverride{{Datastore: "Sales", StagingBatchesToKeep: proto.Int32(3),
		CdcRejectPolicy: modelv1.CdcRejectPolicy_CDC_REJECT_POLICY_FAIL}}
	m.Psps[0].Documentation = doc("p")
	m.Psps[0].CredentialStore = &modelv1.CredentialStore{Kind: &modelv1.CredentialStore_Vault{Vault: &modelv1.VaultCredentialStore{
		Address: "a", Mount: "m", PathPrefix: "p"}}}
	m.Assignments[0].Platforms[0].Documentation = doc("a")
	m.Assignments[0].Platforms[0].DeprecationsAllowed = modelv1.DeprecationsAllowed_DEPRECATIONS_ALLOWED_ALLOWED
	return m
}

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
// or not), each differing from root in that one field.
func mutations(root proto.Message) []mutation {
	var out []mutation
	var walk func(path []step, name string, m protoreflect.Message)
	walk = func(path []step, name string, m protoreflect.Message) {
		fields := m.Descriptor().Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			c := proto.Clone(root)
			if mutate(navigate(c.ProtoReflect(), path), fd) {
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
