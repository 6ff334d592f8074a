package index

import (
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Capture kinds, as written in YAML.
const (
	KindSQLSnapshot       = "sqlSnapshot"
	KindSQLWatermark      = "sqlWatermark"
	KindKafkaCDC          = "kafkaCdc"
	KindTransformerOutput = "transformerOutput"
)

// Capture is the part every capture kind shares, flattened for rules that do not care about the
// kind. Fields a kind lacks are zero; a transformer output's consistency is MULTI_DATASET.
type Capture struct {
	Kind         string // one of the Kind constants; "" when the datastore has no capture
	Container    *modelv1.DataContainer
	Credential   *modelv1.Credential
	Consistency  modelv1.Consistency
	Trigger      *modelv1.Trigger
	SourceTables map[string]string
	// FieldPrefix is the source-map field path of the variant: "capture.sqlSnapshot", …
	FieldPrefix string
}

// CaptureOf flattens ds's capture metadata.
func CaptureOf(ds *modelv1.Datastore) Capture {
	c := ds.GetCapture()
	switch k := c.GetKind().(type) {
	case *modelv1.CaptureMetadata_SqlSnapshot:
		v := k.SqlSnapshot
		return Capture{KindSQLSnapshot, v.GetContainer(), v.GetCredential(), v.GetConsistency(), v.GetTrigger(), v.GetSourceTables(), "capture." + KindSQLSnapshot}
	case *modelv1.CaptureMetadata_SqlWatermark:
		v := k.SqlWatermark
		return Capture{KindSQLWatermark, v.GetContainer(), v.GetCredential(), v.GetConsistency(), v.GetTrigger(), v.GetSourceTables(), "capture." + KindSQLWatermark}
	case *modelv1.CaptureMetadata_KafkaCdc:
		v := k.KafkaCdc
		return Capture{KindKafkaCDC, v.GetContainer(), v.GetCredential(), v.GetConsistency(), v.GetTrigger(), nil, "capture." + KindKafkaCDC}
	case *modelv1.CaptureMetadata_TransformerOutput:
		return Capture{Kind: KindTransformerOutput, Consistency: modelv1.Consistency_CONSISTENCY_MULTI_DATASET, FieldPrefix: "capture." + KindTransformerOutput}
	}
	return Capture{}
}

// StreamKeys returns the ingestion stream keys of ds (spec/model.md §4.10): the datastore name
// for MULTI_DATASET, "<datastore>#<dataset>" per dataset for SINGLE_DATASET.
func StreamKeys(ds *modelv1.Datastore) []string {
	if CaptureOf(ds).Consistency == modelv1.Consistency_CONSISTENCY_SINGLE_DATASET {
		keys := make([]string, 0, len(ds.GetDatasets()))
		for _, d := range ds.GetDatasets() {
			keys = append(keys, ds.GetName()+"#"+d.GetName())
		}
		return keys
	}
	return []string{ds.GetName()}
}

// ResolveContainer follows a `{ref: name}` container to the team container of the datastore's or
// workspace's team. It returns c itself when it is not a reference, and nil when the reference
// does not resolve.
func (x *Index) ResolveContainer(zone, team string, c *modelv1.DataContainer) *modelv1.DataContainer {
	ref, ok := c.GetKind().(*modelv1.DataContainer_Ref)
	if !ok {
		return c
	}
	for _, tc := range x.Teams[TeamKey(zone, team)].GetContainers() {
		if ContainerName(tc) == ref.Ref {
			return tc
		}
	}
	return nil
}

// ContainerInfo is what every container variant shares.
type ContainerInfo struct {
	Variant   string // YAML key: postgres, mysql, …, platformManaged, ref
	Name      string
	Locations []string
	Host      *modelv1.HostDatabase // database variants reached at host:port
}

// ContainerOf flattens a container's shared fields.
func ContainerOf(c *modelv1.DataContainer) ContainerInfo {
	switch k := c.GetKind().(type) {
	case *modelv1.DataContainer_Postgres:
		return hostInfo("postgres", k.Postgres)
	case *modelv1.DataContainer_Mysql:
		return hostInfo("mysql", k.Mysql)
	case *modelv1.DataContainer_Oracle:
		return hostInfo("oracle", k.Oracle)
	case *modelv1.DataContainer_SqlServer:
		return hostInfo("sqlServer", k.SqlServer)
	case *modelv1.DataContainer_Db2:
		return hostInfo("db2", k.Db2)
	case *modelv1.DataContainer_Snowflake:
		return ContainerInfo{Variant: "snowflake", Name: k.Snowflake.GetName(), Locations: k.Snowflake.GetLocations()}
	case *modelv1.DataContainer_Kafka:
		return ContainerInfo{Variant: "kafka", Name: k.Kafka.GetName(), Locations: k.Kafka.GetLocations()}
	case *modelv1.DataContainer_ObjectStorage:
		return ContainerInfo{Variant: "objectStorage", Name: k.ObjectStorage.GetName(), Locations: k.ObjectStorage.GetLocations()}
	case *modelv1.DataContainer_PlatformManaged:
		return ContainerInfo{Variant: "platformManaged", Name: k.PlatformManaged.GetName()}
	case *modelv1.DataContainer_Ref:
		return ContainerInfo{Variant: "ref", Name: k.Ref}
	}
	return ContainerInfo{}
}

func hostInfo(v string, h *modelv1.HostDatabase) ContainerInfo {
	return ContainerInfo{Variant: v, Name: h.GetName(), Locations: h.GetLocations(), Host: h}
}

// ContainerName returns a container's name.
func ContainerName(c *modelv1.DataContainer) string { return ContainerOf(c).Name }
