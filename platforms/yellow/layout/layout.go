// Package layout owns the table layouts of a Yellow platform (yellow.md §4): the columns,
// nullability, keys, indexes and managed comments of the staging, CDC load, merge (live-only and
// forensic), batch counter, batch metrics, transformer runs and CDC rejects tables, and of the
// transformer output tables (§10), as plain Go values derived from a dataset and the platform's
// milestoning. DDL generation (package ddl) and merge statements (package mergesql) are built
// from these values, so every statement agrees on names and column order.
package layout

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/platforms/yellow/ytypes"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Live is the ds_surf_batch_out of a live forensic version (yellow.md §9, `L`).
const Live = 2147483647

// Column names Yellow adds to model columns (yellow.md §4).
const (
	BatchID              = "ds_surf_batch_id"
	AllHash              = "ds_surf_all_hash"
	KeyHash              = "ds_surf_key_hash"
	IUD                  = "ds_surf_iud"
	Pos                  = "ds_surf_pos"
	RemoteBatchIn        = "ds_surf_remote_batch_in"
	RemoteBatchOut       = "ds_surf_remote_batch_out"
	BatchIn              = "ds_surf_batch_in"
	BatchOut             = "ds_surf_batch_out"
	KafkaTopic           = "ds_surf_kafka_topic"
	KafkaPartition       = "ds_surf_kafka_partition"
	KafkaOffset          = "ds_surf_kafka_offset"
	hashType             = "bytea"
	batchType            = "integer"
	maxPhysicalNameBytes = naming.MaxIdentifier
)

// Milestoning is how a platform keeps its merge tables (model PlatformMilestoning).
type Milestoning int

// Milestoning values.
const (
	LiveOnly Milestoning = iota + 1
	Forensic
)

func (m Milestoning) String() string {
	switch m {
	case LiveOnly:
		return "live-only"
	case Forensic:
		return "forensic"
	}
	return "milestoning(" + strconv.Itoa(int(m)) + ")"
}

// MilestoningOf maps the model's platform milestoning.
func MilestoningOf(m modelv1.PlatformMilestoning) (Milestoning, error) {
	switch m {
	case modelv1.PlatformMilestoning_PLATFORM_MILESTONING_LIVE_ONLY:
		return LiveOnly, nil
	case modelv1.PlatformMilestoning_PLATFORM_MILESTONING_FORENSIC:
		return Forensic, nil
	}
	return 0, fmt.Errorf("platform milestoning %v is not supported", m)
}

// Capture is the kind of source that fills a staging table; it decides the staging table's extra
// columns and, with the milestoning, the merge (yellow.md §4, §9).
type Capture int

// Capture values. RemoteLive and RemoteForensic are secondaries copying a primary platform's
// forensic merge table (yellow.md §8) onto a live-only or forensic platform.
const (
	Snapshot Capture = iota + 1
	Watermark
	CDC
	TransformerOutput
	RemoteLive
	RemoteForensic
)

func (c Capture) String() string {
	switch c {
	case Snapshot:
		return "snapshot"
	case Watermark:
		return "watermark"
	case CDC:
		return "cdc"
	case TransformerOutput:
		return "transformer-output"
	case RemoteLive:
		return "remote-live"
	case RemoteForensic:
		return "remote-forensic"
	}
	return "capture(" + strconv.Itoa(int(c)) + ")"
}

// CaptureFor returns the capture of a stream on a platform: kind is the datastore's capture kind
// as index.CaptureOf names it (sqlSnapshot, sqlWatermark, kafkaCdc, transformerOutput); remote
// is true when the platform copies the datastore from a primary platform (model.md §4.18 step 3).
func CaptureFor(kind string, remote bool, m Milestoning) (Capture, error) {
	if remote {
		if m == Forensic {
			return RemoteForensic, nil
		}
		return RemoteLive, nil
	}
	switch kind {
	case "sqlSnapshot":
		return Snapshot, nil
	case "sqlWatermark":
		return Watermark, nil
	case "kafkaCdc":
		return CDC, nil
	case "transformerOutput":
		return TransformerOutput, nil
	}
	return 0, fmt.Errorf("capture kind %q is not supported on Yellow", kind)
}

// Column is one physical column.
type Column struct {
	Name string
	// Type is the physical type as format_type prints it (yellow.md §3).
	Type string
	// Collation is the column's collation ("" = the database default).
	Collation string
	NotNull   bool
	// Default is an integer literal default ("" = none); only ds_surf_batch_out has one.
	Default string
	// Model is true for a model column (false for the ds_surf_* and bookkeeping columns).
	Model bool
}

// Index is an index or a primary key.
type Index struct {
	// Name is the physical name phys(<table>_<suffix>), in the table's schema.
	Name    string
	Columns []string
	Unique  bool
	Primary bool
	// LiveOnly makes the index partial: WHERE ds_surf_batch_out = 2147483647.
	LiveOnly bool
}

// Check is a CHECK (column IN (values…)) constraint.
type Check struct {
	Name   string
	Column string
	Values []string
}

// Kind names what a table is for; it appears in the managed comment.
type Kind string

// Table kinds.
const (
	KindStaging         Kind = "staging"
	KindCDCLoad         Kind = "cdcload"
	KindMerge           Kind = "merge"
	KindBatchCounter    Kind = "batch_counter"
	KindBatchMetrics    Kind = "batch_metrics"
	KindTransformerRuns Kind = "transformer_runs"
	KindCDCRejects      Kind = "cdc_rejects"
	KindOutput          Kind = "transformer_output"
)

// Table is the desired layout of one table.
type Table struct {
	// Platform is the data platform D (named in the managed comment).
	Platform string
	Kind     Kind
	Name     naming.Name
	// Dataset is "S.T" for dataset tables, "" for bookkeeping tables.
	Dataset string
	// Workspace is the transformer workspace of an output table, else "".
	Workspace string
	// Milestoning is set on merge tables.
	Milestoning Milestoning
	// Capture is set on staging and CDC load tables.
	Capture  Capture
	Unlogged bool
	Columns  []Column
	// PrimaryKey is nil when the table has none.
	PrimaryKey *Index
	Indexes    []Index
	Checks     []Check
	// Key is the dataset's primary key in key order (empty for keyless datasets and bookkeeping
	// tables).
	Key []string
}

// Comment is the managed marker of the table (yellow.md §4, security.md §2).
func (t Table) Comment() string {
	c := "datasurface:managed kind=" + string(t.Kind) + " platform=" + t.Platform
	if t.Workspace != "" {
		c += " workspace=" + t.Workspace
	}
	if t.Dataset != "" {
		c += " dataset=" + t.Dataset
	}
	return c
}

// ModelColumns returns the model columns in model order.
func (t Table) ModelColumns() []Column {
	var out []Column
	for _, c := range t.Columns {
		if c.Model {
			out = append(out, c)
		}
	}
	return out
}

// ModelColumnNames returns the model column names in model order.
func (t Table) ModelColumnNames() []string {
	var out []string
	for _, c := range t.Columns {
		if c.Model {
			out = append(out, c.Name)
		}
	}
	return out
}

// Column returns the column named n.
func (t Table) Column(n string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == n {
			return c, true
		}
	}
	return Column{}, false
}

// ColumnNames returns every column name in table order.
func (t Table) ColumnNames() []string {
	out := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = c.Name
	}
	return out
}

// Dataset is a model dataset reduced to what Yellow stores: its columns with physical types and
// model nullability, in model order, and its primary key in key order.
type Dataset struct {
	Store      string
	Name       string
	Columns    []Column
	PrimaryKey []string
}

// Ref is "S.T".
func (d Dataset) Ref() string { return d.Store + "." + d.Name }

// Keyless reports whether the dataset has no primary key.
func (d Dataset) Keyless() bool { return len(d.PrimaryKey) == 0 }

// FromModel maps a model dataset of datastore store to its physical columns.
func FromModel(store string, ds *modelv1.Dataset, o ytypes.Options) (Dataset, error) {
	d := Dataset{Store: store, Name: ds.GetName(), PrimaryKey: slices.Clone(ds.GetPrimaryKey())}
	for _, c := range ds.GetColumns() {
		p, err := ytypes.Map(c.GetType(), o)
		if err != nil {
			return Dataset{}, fmt.Errorf("dataset %s.%s column %q: %w", store, ds.GetName(), c.GetName(), err)
		}
		d.Columns = append(d.Columns, Column{
			Name: c.GetName(), Type: p.Type, Collation: p.Collation, NotNull: !c.GetNullable(), Model: true,
		})
	}
	if err := d.Validate(); err != nil {
		return Dataset{}, err
	}
	return d, nil
}

// physicalType accepts what ytypes renders: letters, digits, blanks, parentheses, commas, brackets
// and underscores (e.g. `character varying(10)`, `numeric(12,2)`, `geography(Point,4326)`,
// `integer[]`). Types are interpolated into DDL, so anything else is refused.
var physicalType = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9 _(),\[\]]*$`)

// ValidType reports whether typ is a physical type spelling that may be written into SQL.
func ValidType(typ string) bool { return physicalType.MatchString(typ) }

// Validate checks what generated SQL relies on: names are non-empty identifiers of at most 63
// bytes without NUL, types are physical type spellings, key columns exist and do not repeat, and
// no model column uses a ds_surf_ name.
func (d Dataset) Validate() error {
	if err := validName("datastore", d.Store); err != nil {
		return err
	}
	if err := validName("dataset", d.Name); err != nil {
		return err
	}
	if len(d.Columns) == 0 {
		return fmt.Errorf("dataset %s has no columns", d.Ref())
	}
	seen := make(map[string]bool, len(d.Columns))
	for _, c := range d.Columns {
		if err := validName("column", c.Name); err != nil {
			return fmt.Errorf("dataset %s: %w", d.Ref(), err)
		}
		if len(c.Name) >= 8 && c.Name[:8] == "ds_surf_" {
			return fmt.Errorf("dataset %s: column %q uses the reserved prefix ds_surf_", d.Ref(), c.Name)
		}
		if seen[c.Name] {
			return fmt.Errorf("dataset %s: column %q repeats", d.Ref(), c.Name)
		}
		seen[c.Name] = true
		if !ValidType(c.Type) {
			return fmt.Errorf("dataset %s column %q: physical type %q is not valid", d.Ref(), c.Name, c.Type)
		}
	}
	keys := make(map[string]bool, len(d.PrimaryKey))
	for _, k := range d.PrimaryKey {
		if !seen[k] {
			return fmt.Errorf("dataset %s: primary key column %q is not a column", d.Ref(), k)
		}
		if keys[k] {
			return fmt.Errorf("dataset %s: primary key column %q repeats", d.Ref(), k)
		}
		keys[k] = true
	}
	return nil
}

func validName(what, n string) error {
	if n == "" {
		return fmt.Errorf("%s name is empty", what)
	}
	if len(n) > maxPhysicalNameBytes {
		return fmt.Errorf("%s name %q is longer than %d bytes", what, n, maxPhysicalNameBytes)
	}
	for i := 0; i < len(n); i++ {
		if n[i] == 0 {
			return fmt.Errorf("%s name %q contains NUL", what, n)
		}
	}
	return nil
}

func (d Dataset) isKey(c string) bool { return slices.Contains(d.PrimaryKey, c) }

// Nullability of model columns in a table.
type nullability int

const (
	modelNullability nullability = iota // as the model says (transformer output tables)
	keysNotNull                         // model nullability, key columns NOT NULL (merge tables)
	onlyKeysNotNull                     // key columns NOT NULL, all others nullable (staging)
)

// modelColumns returns the dataset's columns with nullability n.
func (d Dataset) modelColumns(n nullability) []Column {
	out := make([]Column, len(d.Columns))
	for i, c := range d.Columns {
		c.Model = true
		switch n {
		case keysNotNull:
			c.NotNull = c.NotNull || d.isKey(c.Name)
		case onlyKeysNotNull:
			c.NotNull = d.isKey(c.Name)
		}
		out[i] = c
	}
	return out
}

func sys(name, typ string, notNull bool) Column {
	return Column{Name: name, Type: typ, NotNull: notNull}
}

func datasetTable(d string, ds Dataset, kind Kind, name naming.Name) Table {
	return Table{Platform: d, Kind: kind, Name: name, Dataset: ds.Ref(), Key: slices.Clone(ds.PrimaryKey)}
}

// Staging is the staging table of dataset ds of platform d for capture c (yellow.md §4): model
// columns (key columns NOT NULL, others nullable), batch id and hashes, plus the capture's
// columns; index (ds_surf_batch_id, ds_surf_key_hash[, ds_surf_remote_batch_in]), unique unless
// the dataset is keyless.
func Staging(d string, ds Dataset, c Capture) Table {
	t := datasetTable(d, ds, KindStaging, naming.StagingTable(d, ds.Store, ds.Name))
	t.Capture = c
	t.Columns = append(ds.modelColumns(onlyKeysNotNull), stagingColumns(c)...)
	idx := Index{Name: naming.Index(t.Name.Name, "batch_key"), Columns: []string{BatchID, KeyHash}, Unique: !ds.Keyless()}
	if c == RemoteForensic {
		idx.Columns = append(idx.Columns, RemoteBatchIn)
	}
	t.Indexes = []Index{idx}
	return t
}

func stagingColumns(c Capture) []Column {
	cols := []Column{sys(BatchID, batchType, true), sys(AllHash, hashType, true), sys(KeyHash, hashType, true)}
	switch c {
	case CDC:
		cols = append(cols, sys(IUD, "character(1)", true), sys(Pos, "bigint[]", true))
	case RemoteLive:
		cols = append(cols, sys(IUD, "character(1)", true))
	case RemoteForensic:
		cols = append(cols, sys(RemoteBatchIn, batchType, true), sys(RemoteBatchOut, batchType, true))
	}
	return cols
}

// CDCLoad is the UNLOGGED CDC load table of dataset ds: the CDC staging columns plus the Kafka
// position of each event; no indexes.
func CDCLoad(d string, ds Dataset) Table {
	t := datasetTable(d, ds, KindCDCLoad, naming.CDCLoadTable(d, ds.Store, ds.Name))
	t.Capture = CDC
	t.Unlogged = true
	t.Columns = append(ds.modelColumns(onlyKeysNotNull), stagingColumns(CDC)...)
	t.Columns = append(t.Columns, sys(KafkaTopic, "text", false), sys(KafkaPartition, "integer", false), sys(KafkaOffset, "bigint", false))
	return t
}

// Merge is the merge table of dataset ds for milestoning m (yellow.md §4).
//
// Live-only: model columns (model nullability), ds_surf_batch_id, ds_surf_all_hash,
// ds_surf_key_hash; primary key = model key; unique (ds_surf_key_hash).
//
// Forensic: model columns, ds_surf_all_hash, ds_surf_key_hash, ds_surf_batch_in,
// ds_surf_batch_out (default 2147483647); primary key = model key + ds_surf_batch_in; unique
// (ds_surf_key_hash, ds_surf_batch_in); unique (ds_surf_key_hash) where live; indexes on
// ds_surf_batch_in and ds_surf_batch_out.
func Merge(d string, ds Dataset, m Milestoning) Table {
	t := datasetTable(d, ds, KindMerge, naming.MergeTable(d, ds.Store, ds.Name))
	t.Milestoning = m
	t.Columns = ds.modelColumns(keysNotNull)
	n := t.Name.Name
	if m == Forensic {
		out := sys(BatchOut, batchType, true)
		out.Default = strconv.Itoa(Live)
		t.Columns = append(t.Columns, sys(AllHash, hashType, true), sys(KeyHash, hashType, true), sys(BatchIn, batchType, true), out)
		if !ds.Keyless() {
			t.PrimaryKey = &Index{Name: naming.Index(n, "pk"), Columns: append(slices.Clone(ds.PrimaryKey), BatchIn), Unique: true, Primary: true}
		}
		t.Indexes = []Index{
			{Name: naming.Index(n, "key_in"), Columns: []string{KeyHash, BatchIn}, Unique: true},
			{Name: naming.Index(n, "live_key"), Columns: []string{KeyHash}, Unique: true, LiveOnly: true},
			{Name: naming.Index(n, "batch_in"), Columns: []string{BatchIn}},
			{Name: naming.Index(n, "batch_out"), Columns: []string{BatchOut}},
		}
		return t
	}
	t.Columns = append(t.Columns, sys(BatchID, batchType, true), sys(AllHash, hashType, true), sys(KeyHash, hashType, true))
	if !ds.Keyless() {
		t.PrimaryKey = &Index{Name: naming.Index(n, "pk"), Columns: slices.Clone(ds.PrimaryKey), Unique: true, Primary: true}
	}
	t.Indexes = []Index{{Name: naming.Index(n, "key"), Columns: []string{KeyHash}, Unique: true}}
	return t
}

// OutputTable is the output table of transformer workspace w for dataset ds of its output
// datastore (yellow.md §10): exactly the model columns with model nullability; no keys.
func OutputTable(d, w string, ds Dataset) Table {
	t := datasetTable(d, ds, KindOutput, naming.TransformerTable(d, w, ds.Store, ds.Name))
	t.Workspace = w
	t.Columns = ds.modelColumns(modelNullability)
	return t
}

// batchStatuses are the values of batch_metrics.batch_status (yellow.md §6.1).
var batchStatuses = []string{"started", "ingested", "committed", "failed"}

// runStatuses are the values of transformer_runs.status.
var runStatuses = []string{"running", "succeeded", "failed", "waiting"}

func bookkeeping(d string, kind Kind, name naming.Name, cols []Column, pk ...string) Table {
	return Table{
		Platform: d, Kind: kind, Name: name, Columns: cols,
		PrimaryKey: &Index{Name: naming.Index(name.Name, "pk"), Columns: pk, Unique: true, Primary: true},
	}
}

// BatchCounter is phys(D).phys(D_batch_counter): key varchar(300) PK, current_batch integer.
func BatchCounter(d string) Table {
	return bookkeeping(d, KindBatchCounter, naming.BatchCounter(d), []Column{
		sys("key", "character varying(300)", true),
		sys("current_batch", "integer", true),
	}, "key")
}

// BatchMetrics is phys(D).phys(D_batch_metrics), one row per (stream key, batch).
func BatchMetrics(d string) Table {
	t := bookkeeping(d, KindBatchMetrics, naming.BatchMetrics(d), []Column{
		sys("key", "character varying(300)", true),
		sys("batch_id", "integer", true),
		sys("batch_status", "character varying(16)", true),
		sys("batch_start_time", "timestamp with time zone", true),
		sys("batch_end_time", "timestamp with time zone", false),
		sys("records_inserted", "bigint", false),
		sys("records_updated", "bigint", false),
		sys("records_deleted", "bigint", false),
		sys("total_records", "bigint", false),
		sys("state", "jsonb", true),
	}, "key", "batch_id")
	t.Checks = []Check{{Name: naming.Index(t.Name.Name, "status"), Column: "batch_status", Values: slices.Clone(batchStatuses)}}
	return t
}

// TransformerRuns is phys(D).phys(D_transformer_runs), one row per transformer run.
func TransformerRuns(d string) Table {
	t := bookkeeping(d, KindTransformerRuns, naming.TransformerRuns(d), []Column{
		sys("workspace", "character varying(128)", true),
		sys("run_id", "bigint", true),
		sys("status", "character varying(16)", true),
		sys("started_at", "timestamp with time zone", true),
		sys("ended_at", "timestamp with time zone", false),
		sys("inputs", "jsonb", false),
		sys("rows", "jsonb", false),
		sys("error", "text", false),
	}, "workspace", "run_id")
	t.Checks = []Check{{Name: naming.Index(t.Name.Name, "status"), Column: "status", Values: slices.Clone(runStatuses)}}
	return t
}

// CDCRejects is phys(D).phys(D_cdc_rejects), the quarantine of poison CDC events.
func CDCRejects(d string) Table {
	return bookkeeping(d, KindCDCRejects, naming.CDCRejects(d), []Column{
		sys("key", "character varying(300)", true),
		sys("batch_id", "integer", true),
		sys("topic", "text", true),
		sys("kafka_partition", "integer", true),
		sys("kafka_offset", "bigint", true),
		sys("reason", "text", true),
		sys("payload", "bytea", false),
		sys("rejected_at", "timestamp with time zone", true),
	}, "key", "topic", "kafka_partition", "kafka_offset")
}

// Bookkeeping returns the four platform tables in creation order.
func Bookkeeping(d string) []Table {
	return []Table{BatchCounter(d), BatchMetrics(d), TransformerRuns(d), CDCRejects(d)}
}

// DatasetTables returns the tables one dataset of a stream needs on a platform with milestoning
// m and capture c, in creation order: staging, CDC load (CDC only) and merge.
func DatasetTables(d string, ds Dataset, c Capture, m Milestoning) []Table {
	ts := []Table{Staging(d, ds, c)}
	if c == CDC {
		ts = append(ts, CDCLoad(d, ds))
	}
	return append(ts, Merge(d, ds, m))
}

// SchemaComment is the managed marker of the platform schema phys(D).
func SchemaComment(d string) string {
	return "datasurface:managed kind=platform platform=" + d
}
