package compat

import (
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/datasurface/datasurface/model/dtype"
	"github.com/datasurface/datasurface/model/graph"
	"github.com/datasurface/datasurface/model/index"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/modelsvc/internal/query"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// The renderer turns canonical model objects into the JSON shapes of the original's to_json
// (governance.md §4.4): `_type` discriminators with the original class names, the original's key
// names, null for absent optional values.
type renderer struct {
	x *index.Index
}

// enumName returns an enum value's name without its type prefix (PRODUCTION_STATUS_PRODUCTION →
// PRODUCTION), or def when the value is unspecified.
func enumName(e protoreflect.Enum, def string) string {
	d := e.Descriptor()
	if e.Number() == 0 {
		return def
	}
	v := d.Values().ByNumber(e.Number())
	if v == nil {
		return def
	}
	prefix := strings.TrimSuffix(string(d.Values().ByNumber(0).Name()), "UNSPECIFIED")
	return strings.TrimPrefix(string(v.Name()), prefix)
}

// nullIfEmpty returns nil for "" so that absent optional strings render as null.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func documentation(d *modelv1.Documentation) any {
	if d == nil {
		return nil
	}
	var tags any
	if len(d.GetTags()) > 0 {
		t := &obj{}
		for _, k := range sortedKeys(d.GetTags()) {
			t.set(k, d.GetTags()[k])
		}
		tags = t
	}
	if d.Markdown != nil {
		return object("_type", "MarkdownDocumentation", "description", d.GetDescription(), "markdown", d.GetMarkdown(), "tags", tags)
	}
	return object("_type", "PlainTextDocumentation", "description", d.GetDescription(), "tags", tags)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func deprecation(d *modelv1.Deprecation) *obj {
	status := enumName(d.GetStatus(), "NOT_DEPRECATED")
	return object("_type", "DeprecationInfo", "status", status, "reason", documentation(d.GetReason()))
}

func classifications(cs []*modelv1.Classification) any {
	if len(cs) == 0 {
		return nil
	}
	out := make([]any, 0, len(cs))
	for _, c := range cs {
		out = append(out, object("_type", "SimpleDC", "dcType", enumName(c.GetType(), ""), "name", nullIfEmpty(c.GetLabel())))
	}
	return out
}

func classificationNames(ts []modelv1.ClassificationType) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, enumName(t, ""))
	}
	return out
}

// ---------------------------------------------------------------------------------------------
// Workspaces

func (r renderer) workspace(w *modelv1.Workspace) *obj {
	groups := &obj{}
	for _, g := range w.GetDatasetGroups() {
		groups.set(g.GetName(), datasetGroup(g))
	}
	var container, transformer any
	if w.GetContainer() != nil {
		container = r.container(w.GetZone(), w.GetTeam(), w.GetContainer())
	}
	if w.GetTransformer() != nil {
		transformer = r.transformer(w.GetTransformer())
	}
	consumers := w.GetAccess().GetConsumers()
	if consumers == nil {
		consumers = []string{}
	}
	return object(
		"_type", "Workspace",
		"name", w.GetName(),
		"documentation", documentation(w.GetDocumentation()),
		"datasetGroups", groups,
		"productionStatus", enumName(w.GetProductionStatus(), "NOT_PRODUCTION"),
		"deprecationStatus", deprecation(w.GetDeprecation()),
		"priority", object("_type", "WorkspacePriority", "priority", enumName(w.GetPriority(), "UNKNOWN")),
		"dataContainer", container,
		"dataTransformer", transformer,
		"access", object("consumers", consumers, "approvedClassifications", classificationNames(w.GetAccess().GetApprovedClassifications())),
	)
}

func datasetGroup(g *modelv1.DatasetGroup) *obj {
	sinks := &obj{}
	for _, s := range g.GetSinks() {
		sinks.set(s.GetDatastore()+":"+s.GetDataset(), object(
			"_type", "DatasetSink",
			"storeName", s.GetDatastore(),
			"datasetName", s.GetDataset(),
			"deprecationsAllowed", enumName(s.GetDeprecationsAllowed(), "NEVER"),
		))
	}
	var platformMD any
	if p := g.GetPlatformRequirements(); p != nil {
		platformMD = object("_type", "WorkspacePlatformConfig", "retention", object(
			"milestoningStrategy", enumName(p.GetMilestoning(), ""),
			"latency", enumName(p.GetLatency(), "MINUTES"),
			"regulator", nullIfEmpty(p.GetRegulator()),
			"minRetentionDurationIfNeeded", nullIfEmpty(p.GetMinRetention()),
		))
	}
	return object(
		"_type", "DatasetGroup",
		"name", g.GetName(),
		"documentation", documentation(g.GetDocumentation()),
		"sinks", sinks,
		"platformMD", platformMD,
	)
}

func (r renderer) transformer(t *modelv1.DataTransformer) *obj {
	var out, code any
	if s := r.x.Datastores[t.GetOutputDatastore()]; s != nil {
		out = r.datastore(s)
	}
	switch c := t.GetCode().GetKind().(type) {
	case *modelv1.TransformerCode_Sql:
		queries := &obj{}
		for _, k := range sortedKeys(c.Sql.GetQueries()) {
			queries.set(k, c.Sql.GetQueries()[k])
		}
		code = object("_type", "SQLTransformerCode", "queries", queries)
	case *modelv1.TransformerCode_Image:
		env := &obj{}
		for _, k := range sortedKeys(c.Image.GetEnv()) {
			env.set(k, c.Image.GetEnv()[k])
		}
		args := c.Image.GetArgs()
		if args == nil {
			args = []string{}
		}
		code = object("_type", "ImageTransformerCode", "image", c.Image.GetImage(), "args", args, "env", env)
	}
	return object(
		"_type", "DataTransformer",
		"name", t.GetName(),
		"outputDatastore", out,
		"code", code,
		"trigger", trigger(t.GetTrigger()),
	)
}

func trigger(t *modelv1.Trigger) any {
	switch k := t.GetKind().(type) {
	case *modelv1.Trigger_Cron:
		return object("_type", "CronTrigger", "cron", k.Cron)
	case *modelv1.Trigger_External:
		return object("_type", "ExternallyTriggered")
	}
	return nil
}

// ---------------------------------------------------------------------------------------------
// Datastores and datasets

func (r renderer) datastore(s *modelv1.Datastore) *obj {
	datasets := &obj{}
	for _, d := range s.GetDatasets() {
		datasets.set(d.GetName(), r.dataset(s, d))
	}
	var approvals any
	if s.GetApprovals() != nil {
		list := []any{}
		for _, a := range s.GetApprovals().GetEntries() {
			list = append(list, object("workspace", a.GetWorkspace(), "dsgName", a.GetDatasetGroup(), "datasetName", a.GetDataset()))
		}
		approvals = list
	}
	return object(
		"_type", "Datastore",
		"name", s.GetName(),
		"doc", documentation(s.GetDocumentation()),
		"datasets", datasets,
		"team", s.GetTeam(),
		"governance_zone", s.GetZone(),
		"cmd", r.capture(s),
		"productionStatus", enumName(s.GetProductionStatus(), "NOT_PRODUCTION"),
		"deprecationStatus", deprecation(s.GetDeprecation()),
		"datasetDSGApprovals", approvals,
	)
}

func (r renderer) dataset(s *modelv1.Datastore, d *modelv1.Dataset) *obj {
	policies := &obj{}
	for _, name := range d.GetStoragePolicies() {
		policies.set(name, r.storagePolicy(s.GetZone(), name))
	}
	return object(
		"_type", "Dataset",
		"name", d.GetName(),
		"documentation", documentation(d.GetDocumentation()),
		"originalSchema", ddlTable(d),
		"policies", policies,
		"dataClassificationOverride", classifications(d.GetClassifications()),
		"deprecationStatus", deprecation(d.GetDeprecation()),
	)
}

func (r renderer) storagePolicy(zone, name string) *obj {
	var p *modelv1.StoragePolicy
	for _, sp := range r.x.Zones[zone].GetStoragePolicies() {
		if sp.GetName() == name {
			p = sp
			break
		}
	}
	return object(
		"_type", "StoragePolicy",
		"name", name,
		"documentation", documentation(p.GetDocumentation()),
		"mandatory", enumName(p.GetMandatory(), "INDIVIDUALLY_MANDATED"),
		"deprecationStatus", deprecation(p.GetDeprecation()),
	)
}

func keyList(typ string, cols []string) any {
	if len(cols) == 0 {
		return nil
	}
	return object("_type", typ, "colNames", cols)
}

func ddlTable(d *modelv1.Dataset) *obj {
	cols := &obj{}
	for _, c := range d.GetColumns() {
		cols.set(c.GetName(), object(
			"_type", "DDLColumn",
			"name", c.GetName(),
			"type", dataType(c.GetType()),
			"nullable", bit(c.GetNullable()),
			"primaryKey", bit(slices.Contains(d.GetPrimaryKey(), c.GetName())),
			"classification", classifications(c.GetClassifications()),
			"doc", documentation(c.GetDocumentation()),
		))
	}
	return object(
		"_type", "DDLTable",
		"primaryKeyColumns", keyList("PrimaryKeyList", d.GetPrimaryKey()),
		"ingestionPartitionColumns", keyList("PartitionKeyList", d.GetPartitionKey()),
		"columns", cols,
	)
}

func bit(b bool) int {
	if b {
		return 1
	}
	return 0
}

// dataType renders a column type: `type` is the type name; parameters use the original's keys
// (Decimal: maxSize = precision, precision = scale).
func dataType(t *modelv1.DataType) any {
	if t == nil {
		return nil
	}
	o := object("type", t.GetName())
	maxSize := func() {
		if t.MaxSize != nil {
			o.set("maxSize", t.GetMaxSize())
		} else {
			o.set("maxSize", -1)
		}
	}
	switch dtype.FamilyOf(t) {
	case dtype.Integer:
		o.set("sizeInBits", dtype.IntegerBits(t.GetName())).set("isSigned", "SIGNED")
	case dtype.Decimal:
		o.set("maxSize", t.GetPrecision()).set("precision", t.GetScale())
	case dtype.Float:
		if f, ok := dtype.FloatFormatOf(t); ok {
			o.set("maxExponent", f.MaxExp).
				set("minExponent", f.MinExp).
				set("precision", f.Precision).
				set("sizeInBits", f.Bits).
				set("nonFiniteBehavior", nonFinite(f.NonFinite)).
				set("nanEncoding", nanEncoding(f.NaN))
		}
	case dtype.MicroScaling:
		batch, scale, element, ok := dtype.MX(t.GetName())
		if !ok {
			batch, scale, element = int(t.GetBatchSize()), t.GetScaleType(), t.GetMxElementType()
		}
		o.set("batchSize", batch).set("scaleType", scale).set("elementType", element)
	case dtype.NonUnicodeString, dtype.UnicodeString:
		maxSize()
		if t.GetCollation() != "" {
			o.set("collationString", t.GetCollation())
		}
	case dtype.Variant, dtype.Binary:
		maxSize()
	case dtype.Timestamp:
		o.set("timeZone", object("_type", "TimeZone", "timeZone", t.GetTimeZone()))
	case dtype.Array:
		maxSize()
		o.set("elementType", dataType(t.GetElementType()))
	case dtype.Map:
		o.set("keyType", dataType(t.GetKeyType())).set("valueType", dataType(t.GetValueType()))
	case dtype.Struct:
		fields := make([]any, 0, len(t.GetFields()))
		for _, f := range t.GetFields() {
			fields = append(fields, object("name", f.GetName(), "type", dataType(f.GetType()), "nullable", f.GetNullable()))
		}
		o.set("fields", fields)
	case dtype.Geography:
		var geometry any
		if t.GetGeometryType() != modelv1.GeometryType_GEOMETRY_TYPE_UNSPECIFIED {
			geometry = enumName(t.GetGeometryType(), "")
		}
		o.set("srs", object("_type", "SpatialReferenceSystem", "srid", t.GetSrid(), "name", t.GetSrsName())).
			set("geometryType", geometry)
		maxSize()
	}
	return o
}

func nonFinite(v modelv1.FloatNonFinite) string {
	switch v {
	case modelv1.FloatNonFinite_FLOAT_NON_FINITE_NAN_ONLY:
		return "NanOnly"
	case modelv1.FloatNonFinite_FLOAT_NON_FINITE_FINITE_ONLY:
		return "FiniteOnly"
	}
	return "IEEE754"
}

func nanEncoding(v modelv1.FloatNanEncoding) string {
	switch v {
	case modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_ALL_ONES:
		return "AllOnes"
	case modelv1.FloatNanEncoding_FLOAT_NAN_ENCODING_NEGATIVE_ZERO:
		return "NegativeZero"
	}
	return "IEEE"
}

// ---------------------------------------------------------------------------------------------
// Capture metadata and containers

func (r renderer) capture(s *modelv1.Datastore) any {
	c := s.GetCapture()
	if c == nil {
		return nil
	}
	ci := index.CaptureOf(s)
	var consistency any
	switch ci.Consistency {
	case modelv1.Consistency_CONSISTENCY_SINGLE_DATASET:
		consistency = 0
	case modelv1.Consistency_CONSISTENCY_MULTI_DATASET:
		consistency = 1
	}
	var container, credential any
	if ci.Container != nil {
		container = r.container(s.GetZone(), s.GetTeam(), ci.Container)
	}
	if ci.Credential != nil {
		credential = object("_type", "Credential", "name", ci.Credential.GetName(), "credentialType", enumName(ci.Credential.GetType(), ""))
	}
	var tables any
	if len(ci.SourceTables) > 0 {
		t := &obj{}
		for _, d := range s.GetDatasets() {
			if v, ok := ci.SourceTables[d.GetName()]; ok {
				t.set(d.GetName(), v)
			}
		}
		tables = t
	}
	var typ string
	switch ci.Kind {
	case index.KindSQLSnapshot:
		typ = "SQLSnapshotIngestion"
	case index.KindSQLWatermark:
		typ = "SQLWatermarkSnapshotDeltaIngestion"
	case index.KindKafkaCDC:
		typ = "KafkaIngestion"
	case index.KindTransformerOutput:
		typ = "DataTransformerOutput"
	}
	o := object(
		"_type", typ,
		"singleOrMultiDatasetIngestion", consistency,
		"stepTrigger", trigger(ci.Trigger),
		"dataContainer", container,
		"credential", credential,
		"tableForDataset", tables,
	)
	switch k := c.GetKind().(type) {
	case *modelv1.CaptureMetadata_SqlWatermark:
		col := k.SqlWatermark.GetWatermarkColumn()
		var wt any
		for _, d := range s.GetDatasets() {
			if c := index.FindColumn(d, col); c != nil {
				wt = dataType(c.GetType())
				break
			}
		}
		o.set("watermarkColumn", col).set("watermarkDataType", wt)
	case *modelv1.CaptureMetadata_KafkaCdc:
		topics := &obj{}
		for _, d := range s.GetDatasets() {
			if t, ok := k.KafkaCdc.GetTopics()[d.GetName()]; ok {
				topics.set(d.GetName(), t)
			} else if p := k.KafkaCdc.GetTopicPrefix(); p != "" {
				topics.set(d.GetName(), p+"."+d.GetName())
			}
		}
		o.set("topicForDataset", topics)
	case *modelv1.CaptureMetadata_TransformerOutput:
		o.set("workSpaceName", k.TransformerOutput.GetWorkspace())
	}
	return o
}

// container renders a data container, following a `{ref}` to the team's container (null when
// the reference does not resolve).
func (r renderer) container(zone, team string, c *modelv1.DataContainer) any {
	c = r.x.ResolveContainer(zone, team, c)
	if c == nil {
		return nil
	}
	info := index.ContainerOf(c)
	locations := info.Locations
	if locations == nil {
		locations = []string{}
	}
	hostDB := func(typ string, h *modelv1.HostDatabase) *obj {
		return object("_type", typ, "name", nullIfEmpty(info.Name), "locations", locations,
			"databaseName", h.GetDatabase(),
			"hostPortPair", object("_type", "HostPortPair", "hostName", h.GetHost(), "port", h.GetPort()))
	}
	switch k := c.GetKind().(type) {
	case *modelv1.DataContainer_Postgres:
		return hostDB("PostgresDatabase", k.Postgres)
	case *modelv1.DataContainer_Mysql:
		return hostDB("MySQLDatabase", k.Mysql)
	case *modelv1.DataContainer_Oracle:
		return hostDB("OracleDatabase", k.Oracle)
	case *modelv1.DataContainer_SqlServer:
		return hostDB("SQLServerDatabase", k.SqlServer)
	case *modelv1.DataContainer_Db2:
		return hostDB("DB2Database", k.Db2)
	case *modelv1.DataContainer_Snowflake:
		s := k.Snowflake
		return object("_type", "SnowFlakeDatabase", "name", nullIfEmpty(info.Name), "locations", locations,
			"databaseName", s.GetDatabase(), "account", s.GetAccount(), "warehouse", nullIfEmpty(s.GetWarehouse()),
			"role", nullIfEmpty(s.GetRole()), "schema", nullIfEmpty(s.GetSchema()))
	case *modelv1.DataContainer_Kafka:
		pairs := make([]any, 0, len(k.Kafka.GetBootstrapServers()))
		for _, hp := range k.Kafka.GetBootstrapServers() {
			host, port := hp, 0
			if h, p, err := net.SplitHostPort(hp); err == nil {
				host = h
				port, _ = strconv.Atoi(p)
			}
			pairs = append(pairs, object("_type", "HostPortPair", "hostName", host, "port", port))
		}
		return object("_type", "KafkaServer", "name", nullIfEmpty(info.Name), "locations", locations,
			"bootstrapServers", object("_type", "HostPortPairList", "pairs", pairs))
	case *modelv1.DataContainer_ObjectStorage:
		s := k.ObjectStorage
		return object("_type", "ObjectStorage", "name", nullIfEmpty(info.Name), "locations", locations,
			"endPointURI", nullIfEmpty(s.GetEndpoint()), "bucketName", s.GetBucket(), "prefix", nullIfEmpty(s.GetPrefix()))
	case *modelv1.DataContainer_PlatformManaged:
		return object("_type", "DataPlatformManagedDataContainer", "name", nullIfEmpty(info.Name), "locations", locations)
	}
	return nil
}

// ---------------------------------------------------------------------------------------------
// Teams and dependencies

func (r renderer) team(t *query.Team) *obj {
	stores := &obj{}
	for _, s := range t.Datastores {
		stores.set(s.GetName(), s.GetName())
	}
	workspaces := &obj{}
	for _, w := range t.Workspaces {
		workspaces.set(w.GetName(), w.GetName())
	}
	containers := &obj{}
	for _, c := range t.Doc.GetContainers() {
		containers.set(index.ContainerName(c), r.container(t.Zone, t.Name, c))
	}
	return object(
		"_type", "Team",
		"name", t.Name,
		"documentation", documentation(t.Doc.GetDocumentation()),
		"dataStores", stores,
		"workspaces", workspaces,
		"containers", containers,
	)
}

func dependents(ds []graph.Dependent) []any {
	out := make([]any, 0, len(ds))
	for _, d := range ds {
		out = append(out, object("_type", "DependentWorkspaces", "workspaceName", d.Workspace, "dependencies", dependents(d.Dependencies)))
	}
	return out
}
