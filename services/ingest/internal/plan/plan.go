// Package plan owns what ingest needs to know about one ingestion stream of a Yellow platform,
// resolved from a committed model: the stream's capture and datasets (physical columns, staging
// and CDC load layouts, fingerprints, model time zones, source tables or topics), the merge and
// source databases with the credentials that open them, and the platform settings that change
// an ingest (milestoning, CDC reject policy, raw archive). It is pure: no I/O.
package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/datasurface/datasurface/model/graph"
	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/platforms/yellow/layout"
	"github.com/datasurface/datasurface/platforms/yellow/mergesql"
	"github.com/datasurface/datasurface/platforms/yellow/naming"
	"github.com/datasurface/datasurface/platforms/yellow/ytypes"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
	"github.com/datasurface/datasurface/services/ingest/internal/failure"
)

// Endpoint is a PostgreSQL database and the credential that logs in to it.
type Endpoint struct {
	Host       string
	Port       int
	Database   string
	Credential *modelv1.Credential
}

// Kafka is the Kafka cluster of a CDC stream.
type Kafka struct {
	BootstrapServers []string
	Credential       *modelv1.Credential
}

// Watermark is the watermark column of a watermark stream and its physical type (the same in
// every dataset, model lint DS-LINT-071).
type Watermark struct {
	Column string
	Type   string
}

// Dataset is one dataset of the stream.
type Dataset struct {
	layout.Dataset
	// Staging is the dataset's staging table; Load its CDC load table (CDC streams only).
	Staging layout.Table
	Load    layout.Table
	// Fingerprint is the schema fingerprint recorded in the batch state (yellow.md §6.2).
	Fingerprint string
	// TimeZones holds, per column (model order), the model time zone of a Timestamp column or
	// of the elements of a Timestamp array ("UTC" when the model leaves it out), else "".
	TimeZones []string
	// SourceTable is the source table as quoted parts: [table] (resolved through the source
	// login's search_path) or [schema, table]. SQL captures only.
	SourceTable []string
	// Topic is the Kafka topic of the dataset. CDC only.
	Topic string
	// Remote is the primary platform's merge and metrics tables of the dataset. Secondaries
	// (RemoteLive, RemoteForensic) only.
	Remote *mergesql.Remote
}

// Ref is "S.T".
func (d *Dataset) Ref() string { return d.Dataset.Ref() }

// Stream is one ingestion stream of a platform.
type Stream struct {
	Platform    string
	Key         string
	Datastore   string
	Capture     layout.Capture
	Milestoning layout.Milestoning
	// Datasets in model order.
	Datasets []*Dataset
	// Store is the credential store of the platform's PSP (model.md §4.16).
	Store *modelv1.CredentialStore
	Merge Endpoint
	// Source is set for SQL captures, Kafka for CDC, Watermark for watermark captures,
	// Primary for secondaries (RemoteLive, RemoteForensic).
	Source    *Endpoint
	Primary   *Primary
	Kafka     *Kafka
	Watermark *Watermark
	// RejectPolicy is the stream's CDC reject policy (QUARANTINE unless overridden).
	RejectPolicy modelv1.CdcRejectPolicy
	// RawArchive is the platform's raw archive, or nil.
	RawArchive *modelv1.RawArchive
	// Owner is the platform owner role the merge login SETs ROLE to (security.md §2).
	Owner string
	// Books are the platform's bookkeeping tables.
	Books mergesql.Books
}

// Fingerprints returns dataset name → fingerprint.
func (s *Stream) Fingerprints() map[string]string {
	out := make(map[string]string, len(s.Datasets))
	for _, d := range s.Datasets {
		out[d.Name] = d.Fingerprint
	}
	return out
}

// DatasetNames returns the dataset names in model order.
func (s *Stream) DatasetNames() []string {
	out := make([]string, len(s.Datasets))
	for i, d := range s.Datasets {
		out[i] = d.Name
	}
	return out
}

func modelErr(format string, args ...any) error {
	return failure.New(failure.Model, "", fmt.Sprintf(format, args...), nil)
}

// Resolve finds stream key on platform d of model m.
func Resolve(m *modelv1.Model, d, key string) (*Stream, error) {
	if m == nil {
		return nil, modelErr("no model")
	}
	x := index.New(m)
	dp := x.Platforms[d]
	if dp == nil {
		return nil, modelErr("platform %q is not in the model", d)
	}
	y := dp.GetYellow()
	if y == nil {
		return nil, modelErr("platform %q is not a Yellow platform", d)
	}
	gs, ok := graph.BuildPlatform(x, d).Stream(key)
	if !ok {
		return nil, modelErr("platform %q has no ingestion stream %q", d, key)
	}
	ms, err := layout.MilestoningOf(y.GetMilestoning())
	if err != nil {
		return nil, modelErr("platform %q: %v", d, err)
	}
	capture, err := layout.CaptureFor(gs.Kind, gs.Remote, ms)
	if err != nil {
		return nil, modelErr("stream %q: %v", key, err)
	}
	switch capture {
	case layout.Snapshot, layout.Watermark, layout.CDC, layout.RemoteLive, layout.RemoteForensic:
	default:
		return nil, modelErr("stream %q has capture %s, which the merge service stages (yellow.md §7.4)", key, capture)
	}
	store := x.Datastores[gs.Datastore]
	if store == nil {
		return nil, modelErr("datastore %q is not in the model", gs.Datastore)
	}
	s := &Stream{
		Platform: d, Key: key, Datastore: gs.Datastore, Capture: capture, Milestoning: ms,
		Store:        x.PlatformPSP[d].GetCredentialStore(),
		RejectPolicy: modelv1.CdcRejectPolicy_CDC_REJECT_POLICY_QUARANTINE,
		RawArchive:   y.GetRawArchive(),
		Owner:        naming.OwnerRole(d),
		Books:        mergesql.BooksOf(d),
	}
	if s.Merge, err = postgres(y.GetMergeDatabase(), y.GetMergeCredential(), "mergeDatabase of platform "+d); err != nil {
		return nil, err
	}
	opts := ytypes.Options{PostGIS: y.GetPostgis()}
	c := index.CaptureOf(store)
	for _, name := range gs.Datasets {
		i := slices.IndexFunc(store.GetDatasets(), func(t *modelv1.Dataset) bool { return t.GetName() == name })
		if i < 0 {
			return nil, modelErr("dataset %s.%s is not in the model", gs.Datastore, name)
		}
		ds, err := dataset(d, store, store.GetDatasets()[i], capture, opts)
		if err != nil {
			return nil, err
		}
		s.Datasets = append(s.Datasets, ds)
	}
	switch capture {
	case layout.RemoteLive, layout.RemoteForensic:
		if s.Primary, err = primary(x, gs.PrimaryPlatform, y.GetMergeCredential()); err != nil {
			return nil, err
		}
		for _, ds := range s.Datasets {
			r := mergesql.RemoteOf(gs.PrimaryPlatform, ds.Dataset)
			ds.Remote = &r
		}
	case layout.Snapshot, layout.Watermark:
		container := x.ResolveContainer(store.GetZone(), store.GetTeam(), c.Container)
		src, err := postgres(container, c.Credential, "source of datastore "+gs.Datastore)
		if err != nil {
			return nil, err
		}
		s.Source = &src
		for _, ds := range s.Datasets {
			if ds.SourceTable, err = sourceTable(c.SourceTables, ds.Name); err != nil {
				return nil, err
			}
		}
		if capture == layout.Watermark {
			if s.Watermark, err = watermark(store.GetCapture().GetSqlWatermark().GetWatermarkColumn(), s.Datasets); err != nil {
				return nil, err
			}
		}
	case layout.CDC:
		k := store.GetCapture().GetKafkaCdc()
		if f := k.GetFormat(); f != modelv1.CdcFormat_CDC_FORMAT_DEBEZIUM_POSTGRES_JSON {
			return nil, modelErr("datastore %q: CDC format %v is not supported", gs.Datastore, f)
		}
		container := x.ResolveContainer(store.GetZone(), store.GetTeam(), c.Container)
		kc := container.GetKafka()
		if kc == nil || len(kc.GetBootstrapServers()) == 0 {
			return nil, modelErr("datastore %q: Kafka CDC needs a kafka container with bootstrap servers", gs.Datastore)
		}
		s.Kafka = &Kafka{BootstrapServers: slices.Clone(kc.GetBootstrapServers()), Credential: c.Credential}
		for _, ds := range s.Datasets {
			ds.Topic = k.GetTopics()[ds.Name]
			if ds.Topic == "" {
				if k.GetTopicPrefix() == "" {
					return nil, modelErr("datastore %q: no topic for dataset %q", gs.Datastore, ds.Name)
				}
				ds.Topic = k.GetTopicPrefix() + "." + ds.Name
			}
		}
	}
	for _, o := range y.GetStreamOverrides() {
		if o.GetDatastore() != gs.Datastore || (o.GetDataset() != "" && (len(gs.Datasets) != 1 || o.GetDataset() != gs.Datasets[0])) {
			continue
		}
		if p := o.GetCdcRejectPolicy(); p != modelv1.CdcRejectPolicy_CDC_REJECT_POLICY_UNSPECIFIED {
			s.RejectPolicy = p
		}
	}
	return s, nil
}

func dataset(d string, store *modelv1.Datastore, t *modelv1.Dataset, c layout.Capture, o ytypes.Options) (*Dataset, error) {
	ld, err := layout.FromModel(store.GetName(), t, o)
	if err != nil {
		return nil, modelErr("%v", err)
	}
	ds := &Dataset{
		Dataset:     ld,
		Staging:     layout.Staging(d, ld, c),
		Fingerprint: mergesql.Fingerprint(ld),
		TimeZones:   make([]string, len(ld.Columns)),
	}
	if c == layout.CDC {
		ds.Load = layout.CDCLoad(d, ld)
	}
	for i, col := range t.GetColumns() {
		ds.TimeZones[i] = timeZone(col.GetType())
	}
	return ds, nil
}

// timeZone returns the model time zone of a Timestamp (or Timestamp array) type, else "".
func timeZone(dt *modelv1.DataType) string {
	if dt.GetName() == "Array" {
		dt = dt.GetElementType()
	}
	if dt.GetName() != "Timestamp" {
		return ""
	}
	if tz := dt.GetTimeZone(); tz != "" {
		return tz
	}
	return "UTC"
}

func postgres(c *modelv1.DataContainer, cred *modelv1.Credential, what string) (Endpoint, error) {
	h := c.GetPostgres()
	if h == nil {
		return Endpoint{}, modelErr("%s must be a postgres container", what)
	}
	if h.GetHost() == "" || h.GetDatabase() == "" {
		return Endpoint{}, modelErr("%s needs a host and a database", what)
	}
	if cred.GetName() == "" {
		return Endpoint{}, modelErr("%s has no credential", what)
	}
	if cred.GetType() != modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD {
		return Endpoint{}, modelErr("%s needs a USER_PASSWORD credential, %q is %v", what, cred.GetName(), cred.GetType())
	}
	port := int(h.GetPort())
	if port == 0 {
		port = 5432
	}
	return Endpoint{Host: h.GetHost(), Port: port, Database: h.GetDatabase(), Credential: cred}, nil
}

// sourceTable returns the quoted parts of the source table of dataset t: sourceTables[t]
// (`table` or `schema.table`) or the dataset name (model.md §4.10).
func sourceTable(tables map[string]string, t string) ([]string, error) {
	name, ok := tables[t]
	if !ok || name == "" {
		return []string{t}, nil
	}
	parts := strings.Split(name, ".")
	if len(parts) > 2 || slices.Contains(parts, "") {
		return nil, modelErr("source table %q of dataset %q must be 'table' or 'schema.table'", name, t)
	}
	return parts, nil
}

func watermark(col string, ds []*Dataset) (*Watermark, error) {
	if col == "" {
		return nil, modelErr("watermark capture without a watermark column")
	}
	var w *Watermark
	for _, d := range ds {
		i := slices.IndexFunc(d.Columns, func(c layout.Column) bool { return c.Name == col })
		if i < 0 {
			return nil, modelErr("watermark column %q is not in dataset %s", col, d.Ref())
		}
		typ := d.Columns[i].Type
		if w == nil {
			w = &Watermark{Column: col, Type: typ}
		} else if !ytypes.Equivalent(w.Type, typ) {
			return nil, modelErr("watermark column %q is %s in one dataset but %s in %s", col, w.Type, typ, d.Ref())
		}
	}
	switch ytypes.Normalize(w.Type) {
	case "SMALLINT", "INTEGER", "BIGINT", "TIMESTAMP":
	default:
		return nil, modelErr("watermark column %q must be an integer type or Timestamp, found %s", col, w.Type)
	}
	return w, nil
}
