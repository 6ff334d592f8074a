package load

import (
	"reflect"
	"slices"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/datasurface/datasurface/model/load/internal/yamltree"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// The schema cache: everything the decoder needs about a message, read once from the
// descriptors and the custom options of options.proto, so decoding does no descriptor or option
// lookups.

type scalarKind uint8

const (
	kString scalarKind = iota + 1
	kInt32
	kInt64
	kBool
	kEnum
	kMessage
)

type fieldInfo struct {
	fd       protoreflect.FieldDescriptor
	name     string // JSON (YAML) name
	bit      uint64 // presence bit within the message (index < 64)
	kind     scalarKind
	list     bool
	isMap    bool
	required bool
	minItems int
	metadata bool
	def      *yamltree.Node // parsed default, nil when none
	enum     *enumInfo
	msg      *msgInfo // message fields and lists
	oneof    int      // index into msgInfo.oneofs, -1 when none
	obj      *objSpec // the elements (or the message) are objects with their own path
	port     int32    // default port of a DataContainer host database variant
	acc      access   // how to write the field (access.go)
}

type oneofInfo struct {
	members []*fieldInfo
	names   string // "postgres, mysql, …" for messages
}

type msgInfo struct {
	desc     protoreflect.MessageDescriptor
	name     string // short message name, used in messages
	fields   []*fieldInfo
	byName   map[string]*fieldInfo // spec fields by YAML name
	meta     map[string]*fieldInfo // metadata fields by YAML name
	metaList []*fieldInfo
	names    []string // YAML names of the spec fields, sorted (suggestions)
	scalar   *fieldInfo
	inline   *fieldInfo
	custom   bool
	oneofs   []oneofInfo
	required []*fieldInfo
	defaults []*fieldInfo
	keys     []*fieldInfo // fields whose values identify a list element, joined by "."
	nameFd   *fieldInfo   // the `name` field, if any
	special  specialKind
	goType   reflect.Type // the generated Go struct
	port     *fieldInfo   // HostDatabase.port
}

type specialKind uint8

const (
	specialNone specialKind = iota
	specialContainer
	specialClassification
)

type enumInfo struct {
	name   string // short enum name, e.g. CloudVendor
	prefix string // CLOUD_VENDOR_
	byName map[string]protoreflect.EnumNumber
	yaml   map[protoreflect.EnumNumber]string
	list   string // "AWS, AZURE, …"
}

// objSpec says that the elements of a list field (or a message field) are objects with their own
// object path: root ones (vendor[V]) or nested under the current object (…/dataset[D]).
type objSpec struct {
	segment string // "dataset"; for a single object the whole segment ("transformer")
	root    bool
	single  bool // a message field, not a list: the segment has no [key]
}

// objects lists the fields whose values are objects (spec/model.md §1 object paths).
var objects = map[protoreflect.FullName]objSpec{
	"datasurface.model.v1.Ecosystem.vendors":                     {segment: "vendor", root: true},
	"datasurface.model.v1.Vendor.locations":                      {segment: "location"},
	"datasurface.model.v1.Location.children":                     {segment: "location"},
	"datasurface.model.v1.PlatformServicesProvider.platforms":    {segment: "platform"},
	"datasurface.model.v1.Datastore.datasets":                    {segment: "dataset"},
	"datasurface.model.v1.Dataset.columns":                       {segment: "column"},
	"datasurface.model.v1.Workspace.dataset_groups":              {segment: "dsg"},
	"datasurface.model.v1.DatasetGroup.sinks":                    {segment: "sink"},
	"datasurface.model.v1.Workspace.transformer":                 {segment: "transformer", single: true},
	"datasurface.model.v1.PlatformAssignments.dataset_groups":    {segment: "assignment", root: true},
	"datasurface.model.v1.DatasetGroupAssignment.platforms":      {segment: "platform"},
	"datasurface.model.v1.PlatformAssignments.primary_ingestion": {segment: "primary", root: true},
}

// elementKeys lists the fields identifying list elements of messages without a `name`.
var elementKeys = map[protoreflect.FullName][]string{
	"datasurface.model.v1.DatasetSink":            {"datastore", "dataset"},
	"datasurface.model.v1.Approval":               {"workspace", "datasetGroup", "dataset"},
	"datasurface.model.v1.StreamOverride":         {"datastore", "dataset"},
	"datasurface.model.v1.DatasetGroupAssignment": {"workspace", "datasetGroup"},
	"datasurface.model.v1.PlatformAssignment":     {"platform"},
	"datasurface.model.v1.PrimaryIngestion":       {"datastore"},
	"datasurface.model.v1.Classification":         {"type"},
}

// defaultPorts are the default ports of the host database container variants.
var defaultPorts = map[string]int32{
	"postgres":  5432,
	"mysql":     3306,
	"oracle":    1521,
	"sqlServer": 1433,
	"db2":       50000,
}

type schemaCache struct {
	msgs  map[protoreflect.FullName]*msgInfo
	enums map[protoreflect.FullName]*enumInfo
}

var (
	schemaOnce sync.Once
	schema     *schemaCache
)

func getSchema() *schemaCache {
	schemaOnce.Do(func() {
		s := &schemaCache{
			msgs:  make(map[protoreflect.FullName]*msgInfo),
			enums: make(map[protoreflect.FullName]*enumInfo),
		}
		for _, m := range []proto.Message{
			&modelv1.Ecosystem{}, &modelv1.PlatformServicesProvider{}, &modelv1.PlatformAssignments{},
			&modelv1.GovernanceZone{}, &modelv1.Team{}, &modelv1.Datastore{}, &modelv1.Workspace{},
			&modelv1.DataType{},
		} {
			s.message(m.ProtoReflect().Descriptor())
		}
		// Defaults are parsed, and field access resolved, once every message is known.
		for _, mi := range s.msgs {
			resolveAccess(mi)
			mi.port = mi.byName["port"]
			for _, f := range mi.defaults {
				f.def = parseDefault(f.fd)
			}
		}
		schema = s
	})
	return schema
}

func (s *schemaCache) message(md protoreflect.MessageDescriptor) *msgInfo {
	if mi, ok := s.msgs[md.FullName()]; ok {
		return mi
	}
	mi := &msgInfo{
		desc:   md,
		name:   string(md.Name()),
		byName: make(map[string]*fieldInfo, md.Fields().Len()),
	}
	s.msgs[md.FullName()] = mi
	if opts, ok := proto.GetExtension(md.Options(), modelv1.E_Message).(*modelv1.MessageYaml); ok && opts != nil {
		mi.custom = opts.GetCustom()
		defer func() {
			if n := opts.GetScalarField(); n != "" {
				mi.scalar = mi.byProtoName(n)
			}
			if n := opts.GetInlineField(); n != "" {
				mi.inline = mi.byProtoName(n)
			}
		}()
	}
	switch md.FullName() {
	case "datasurface.model.v1.DataContainer":
		mi.special = specialContainer
	case "datasurface.model.v1.Classification":
		mi.special = specialClassification
	}
	oneofIndex := map[protoreflect.FullName]int{}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		f := &fieldInfo{fd: fd, name: fd.JSONName(), bit: 1 << uint(i%64), oneof: -1}
		if fo, ok := proto.GetExtension(fd.Options(), modelv1.E_Field).(*modelv1.FieldYaml); ok && fo != nil {
			if fo.GetCanonicalOnly() {
				continue
			}
			f.required = fo.GetRequired()
			f.minItems = int(fo.GetMinItems())
			f.metadata = fo.GetMetadata()
			if fo.GetDefault() != "" {
				mi.defaults = append(mi.defaults, f)
			}
		}
		f.list = fd.IsList()
		f.isMap = fd.IsMap()
		switch {
		case f.isMap:
			f.kind = kString // every map of the model is string → string
		case fd.Kind() == protoreflect.StringKind:
			f.kind = kString
		case fd.Kind() == protoreflect.Int32Kind:
			f.kind = kInt32
		case fd.Kind() == protoreflect.Int64Kind:
			f.kind = kInt64
		case fd.Kind() == protoreflect.BoolKind:
			f.kind = kBool
		case fd.Kind() == protoreflect.EnumKind:
			f.kind = kEnum
			f.enum = s.enum(fd.Enum())
		case fd.Kind() == protoreflect.MessageKind:
			f.kind = kMessage
			f.msg = s.message(fd.Message())
		}
		if o, ok := objects[fd.FullName()]; ok {
			f.obj = &o
		}
		if mi.special == specialContainer {
			f.port = defaultPorts[f.name]
		}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			idx, ok := oneofIndex[od.FullName()]
			if !ok {
				idx = len(mi.oneofs)
				oneofIndex[od.FullName()] = idx
				mi.oneofs = append(mi.oneofs, oneofInfo{})
			}
			f.oneof = idx
			mi.oneofs[idx].members = append(mi.oneofs[idx].members, f)
		}
		mi.fields = append(mi.fields, f)
		if f.metadata {
			if mi.meta == nil {
				mi.meta = make(map[string]*fieldInfo)
			}
			mi.meta[f.name] = f
			mi.metaList = append(mi.metaList, f)
			continue
		}
		mi.byName[f.name] = f
		mi.names = append(mi.names, f.name)
		if f.required {
			mi.required = append(mi.required, f)
		}
		if f.name == "name" {
			mi.nameFd = f
		}
	}
	slices.Sort(mi.names)
	for i := range mi.oneofs {
		names := make([]string, len(mi.oneofs[i].members))
		for j, m := range mi.oneofs[i].members {
			names[j] = m.name
		}
		mi.oneofs[i].names = strings.Join(names, ", ")
	}
	if keys, ok := elementKeys[md.FullName()]; ok {
		for _, k := range keys {
			mi.keys = append(mi.keys, mi.byName[k])
		}
	} else if mi.nameFd != nil {
		mi.keys = []*fieldInfo{mi.nameFd}
	}
	return mi
}

func (mi *msgInfo) byProtoName(n string) *fieldInfo {
	for _, f := range mi.fields {
		if string(f.fd.Name()) == n {
			return f
		}
	}
	return nil
}

func (s *schemaCache) enum(ed protoreflect.EnumDescriptor) *enumInfo {
	if ei, ok := s.enums[ed.FullName()]; ok {
		return ei
	}
	ei := &enumInfo{
		name:   string(ed.Name()),
		byName: make(map[string]protoreflect.EnumNumber),
		yaml:   make(map[protoreflect.EnumNumber]string),
	}
	values := ed.Values()
	for i := 0; i < values.Len(); i++ {
		if v := values.Get(i); v.Number() == 0 {
			ei.prefix = strings.TrimSuffix(string(v.Name()), "UNSPECIFIED")
		}
	}
	var names []string
	for i := 0; i < values.Len(); i++ {
		v := values.Get(i)
		if v.Number() == 0 {
			continue
		}
		n := strings.TrimPrefix(string(v.Name()), ei.prefix)
		ei.byName[n] = v.Number()
		ei.yaml[v.Number()] = n
		names = append(names, n)
	}
	ei.list = strings.Join(names, ", ")
	s.enums[ed.FullName()] = ei
	return ei
}

// parseDefault parses the default option of fd as YAML.
func parseDefault(fd protoreflect.FieldDescriptor) *yamltree.Node {
	fo, _ := proto.GetExtension(fd.Options(), modelv1.E_Field).(*modelv1.FieldYaml)
	docs, errs := yamltree.Parse(fo.GetDefault())
	if len(errs) > 0 || len(docs) != 1 {
		return nil
	}
	return &docs[0]
}
