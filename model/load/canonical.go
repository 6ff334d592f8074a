package load

import (
	"cmp"
	"slices"
	"strings"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Canonical order (spec/model.md §1): every name-keyed collection sorted by name in byte order,
// sets of scalar values sorted, classifications sorted by type (enum order). Authored order is
// kept for columns, primaryKey, partitionKey, struct fields, location children, the datasets of a
// datastore, the platforms of a primary ingestion, bootstrap servers and image arguments. Sorts
// are stable, so duplicates (which lint reports) keep their authored order.

func byName[T interface{ GetName() string }](a, b T) int {
	return strings.Compare(a.GetName(), b.GetName())
}

func sortByName[T interface{ GetName() string }](s []T) { slices.SortStableFunc(s, byName[T]) }

func sortClassifications(s []*modelv1.Classification) {
	slices.SortStableFunc(s, func(a, b *modelv1.Classification) int { return cmp.Compare(a.GetType(), b.GetType()) })
}

// canonicalDocument sorts the collections inside one loaded document.
func canonicalDocument(m any) {
	switch m := m.(type) {
	case *modelv1.Ecosystem:
		sortByName(m.Vendors)
		for _, v := range m.Vendors {
			sortByName(v.Locations)
		}
		sortByName(m.Zones)
	case *modelv1.GovernanceZone:
		sortByName(m.Teams)
		sortByName(m.StoragePolicies)
		for _, ps := range [][]*modelv1.AllowDenyPolicy{m.ClassificationPolicies, m.VendorPolicies,
			m.HardVendorPolicies, m.LocationPolicies, m.PlatformPolicies} {
			sortByName(ps)
			for _, p := range ps {
				canonicalPolicy(p)
			}
		}
	case *modelv1.Team:
		slices.SortStableFunc(m.Containers, func(a, b *modelv1.DataContainer) int {
			return strings.Compare(containerName(a), containerName(b))
		})
		for _, c := range m.Containers {
			canonicalContainer(c)
		}
	case *modelv1.Datastore:
		if a := m.GetApprovals(); a != nil {
			slices.SortStableFunc(a.Entries, func(x, y *modelv1.Approval) int {
				return cmp.Or(strings.Compare(x.GetWorkspace(), y.GetWorkspace()),
					strings.Compare(x.GetDatasetGroup(), y.GetDatasetGroup()),
					strings.Compare(x.GetDataset(), y.GetDataset()))
			})
		}
		canonicalCapture(m.GetCapture())
		for _, ds := range m.Datasets {
			sortClassifications(ds.Classifications)
			slices.Sort(ds.StoragePolicies)
			for _, c := range ds.Columns {
				sortClassifications(c.Classifications)
			}
		}
	case *modelv1.Workspace:
		sortByName(m.DatasetGroups)
		for _, g := range m.DatasetGroups {
			slices.SortStableFunc(g.Sinks, func(x, y *modelv1.DatasetSink) int {
				return cmp.Or(strings.Compare(x.GetDatastore(), y.GetDatastore()),
					strings.Compare(x.GetDataset(), y.GetDataset()))
			})
		}
		canonicalContainer(m.Container)
		canonicalPolicy(m.ClassificationPolicy)
		if a := m.Access; a != nil {
			slices.Sort(a.Consumers)
			slices.Sort(a.ApprovedClassifications)
		}
	case *modelv1.PlatformServicesProvider:
		slices.Sort(m.Locations)
		sortByName(m.Platforms)
		for _, p := range m.Platforms {
			if y := p.GetYellow(); y != nil {
				canonicalContainer(y.MergeDatabase)
				slices.SortStableFunc(y.StreamOverrides, func(a, b *modelv1.StreamOverride) int {
					return cmp.Or(strings.Compare(a.GetDatastore(), b.GetDatastore()),
						strings.Compare(a.GetDataset(), b.GetDataset()))
				})
			}
		}
	case *modelv1.PlatformAssignments:
		for _, a := range m.DatasetGroups {
			slices.SortStableFunc(a.Platforms, func(x, y *modelv1.PlatformAssignment) int {
				return strings.Compare(x.GetPlatform(), y.GetPlatform())
			})
		}
	}
}

func canonicalPolicy(p *modelv1.AllowDenyPolicy) {
	if p == nil {
		return
	}
	slices.Sort(p.Allowed)
	slices.Sort(p.NotAllowed)
}

func canonicalCapture(c *modelv1.CaptureMetadata) {
	switch k := c.GetKind().(type) {
	case *modelv1.CaptureMetadata_SqlSnapshot:
		canonicalContainer(k.SqlSnapshot.GetContainer())
	case *modelv1.CaptureMetadata_SqlWatermark:
		canonicalContainer(k.SqlWatermark.GetContainer())
	case *modelv1.CaptureMetadata_KafkaCdc:
		canonicalContainer(k.KafkaCdc.GetContainer())
	}
}

// containerName is the name of a container's variant, or its ref.
func containerName(c *modelv1.DataContainer) string {
	switch k := c.GetKind().(type) {
	case *modelv1.DataContainer_Ref:
		return k.Ref
	case *modelv1.DataContainer_PlatformManaged:
		return k.PlatformManaged.GetName()
	}
	if h := hostDatabase(c); h != nil {
		return h.GetName()
	}
	switch k := c.GetKind().(type) {
	case *modelv1.DataContainer_Snowflake:
		return k.Snowflake.GetName()
	case *modelv1.DataContainer_Kafka:
		return k.Kafka.GetName()
	case *modelv1.DataContainer_ObjectStorage:
		return k.ObjectStorage.GetName()
	}
	return ""
}

func hostDatabase(c *modelv1.DataContainer) *modelv1.HostDatabase {
	switch k := c.GetKind().(type) {
	case *modelv1.DataContainer_Postgres:
		return k.Postgres
	case *modelv1.DataContainer_Mysql:
		return k.Mysql
	case *modelv1.DataContainer_Oracle:
		return k.Oracle
	case *modelv1.DataContainer_SqlServer:
		return k.SqlServer
	case *modelv1.DataContainer_Db2:
		return k.Db2
	}
	return nil
}

func canonicalContainer(c *modelv1.DataContainer) {
	var locations []string
	var enc *modelv1.Encryption
	if h := hostDatabase(c); h != nil {
		locations, enc = h.Locations, h.Encryption
	} else {
		switch k := c.GetKind().(type) {
		case *modelv1.DataContainer_Snowflake:
			locations, enc = k.Snowflake.GetLocations(), k.Snowflake.GetEncryption()
		case *modelv1.DataContainer_Kafka:
			locations, enc = k.Kafka.GetLocations(), k.Kafka.GetEncryption()
		case *modelv1.DataContainer_ObjectStorage:
			locations, enc = k.ObjectStorage.GetLocations(), k.ObjectStorage.GetEncryption()
		}
	}
	slices.Sort(locations)
	if enc != nil {
		sortByName(enc.ServerSide)
		sortByName(enc.ClientSide)
	}
}

// canonicalModel sorts the model's top-level collections.
func canonicalModel(m *modelv1.Model) {
	sortByName(m.Zones)
	slices.SortStableFunc(m.Teams, func(a, b *modelv1.Team) int {
		return cmp.Or(strings.Compare(a.GetZone(), b.GetZone()), strings.Compare(a.GetName(), b.GetName()))
	})
	sortByName(m.Datastores)
	sortByName(m.Workspaces)
	sortByName(m.Psps)
	slices.SortStableFunc(m.Assignments, func(a, b *modelv1.DatasetGroupAssignment) int {
		return cmp.Or(strings.Compare(a.GetWorkspace(), b.GetWorkspace()),
			strings.Compare(a.GetDatasetGroup(), b.GetDatasetGroup()))
	})
	slices.SortStableFunc(m.PrimaryIngestions, func(a, b *modelv1.PrimaryIngestion) int {
		return strings.Compare(a.GetDatastore(), b.GetDatastore())
	})
}
