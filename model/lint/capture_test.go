package lint

import (
	"testing"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

func TestCaptureRules(t *testing.T) {
	const (
		s    = "datastore[S]"
		snap = s + "#capture.sqlSnapshot"
	)
	store := func(m *modelv1.Model) *modelv1.Datastore { return obFindStore(m, "S") }
	// watermarked replaces S's capture by sqlWatermark on column wm and its datasets by ds.
	watermarked := func(m *modelv1.Model, ds ...*modelv1.Dataset) {
		st := store(m)
		old := obSnapshot(st)
		st.Capture = &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_SqlWatermark{SqlWatermark: &modelv1.SqlWatermarkCapture{
			Container: old.Container, Credential: old.Credential, Consistency: old.Consistency, Trigger: old.Trigger,
			WatermarkColumn: "wm",
		}}}
		st.Datasets = append(st.Datasets, ds...)
	}
	// kafka replaces S's capture by kafkaCdc from a kafka cluster.
	kafka := func(m *modelv1.Model, servers ...string) *modelv1.KafkaCdcCapture {
		kc := &modelv1.KafkaCdcCapture{
			Container:   obKafka(servers...),
			Credential:  obCred("K", modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD),
			Consistency: modelv1.Consistency_CONSISTENCY_SINGLE_DATASET,
			Format:      modelv1.CdcFormat_CDC_FORMAT_DEBEZIUM_POSTGRES_JSON,
			TopicPrefix: "cdc",
		}
		store(m).Capture = &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_KafkaCdc{KafkaCdc: kc}}
		return kc
	}
	wmDataset := func(name string, t *modelv1.DataType, nullable bool) *modelv1.Dataset {
		return obDataset(name, obCol("id", obT("Integer"), false, obIP), obCol("wm", t, nullable, obIP))
	}
	teamContainer := func(m *modelv1.Model, dc *modelv1.DataContainer) {
		m.Teams = append(m.Teams, &modelv1.Team{Name: "T", Zone: "Z", Containers: []*modelv1.DataContainer{dc}})
	}
	obRun(t, []obCase{
		{
			name:   "060 no capture",
			mutate: func(m *modelv1.Model) { store(m).Capture = nil },
			want:   []obProblem{obE(RuleCaptureMissing, s, s, "datastore 'S' has no capture")},
		},
		{
			name:   "061 consistency missing, cited at the capture variant",
			mutate: func(m *modelv1.Model) { obSnapshot(store(m)).Consistency = 0 },
			keys:   []string{snap},
			want:   []obProblem{obE(RuleConsistencyMissing, s, snap, "capture of 'S' must set consistency (SINGLE_DATASET or MULTI_DATASET)")},
		},
		{
			name:   "062 container missing",
			mutate: func(m *modelv1.Model) { obSnapshot(store(m)).Container = nil },
			keys:   []string{snap},
			want:   []obProblem{obE(RuleContainerMissing, s, snap, "capture of 'S' needs a container")},
		},
		{
			name:   "063 sqlSnapshot from kafka",
			mutate: func(m *modelv1.Model) { obSnapshot(store(m)).Container = obKafka("b1:9092") },
			keys:   []string{snap + ".container.kafka"},
			want:   []obProblem{obE(RuleContainerKindWrong, s, snap+".container.kafka", "sqlSnapshot needs a database container, found kafka")},
		},
		{
			name: "063 sqlSnapshot from snowflake is fine",
			mutate: func(m *modelv1.Model) {
				obSnapshot(store(m)).Container = &modelv1.DataContainer{Kind: &modelv1.DataContainer_Snowflake{Snowflake: &modelv1.SnowflakeDatabase{Account: "a", Database: "d"}}}
			},
		},
		{
			name:   "063 kafkaCdc from postgres",
			mutate: func(m *modelv1.Model) { kafka(m).Container = obPG("pg", 5432) },
			keys:   []string{s + "#capture.kafkaCdc.container"},
			want:   []obProblem{obE(RuleContainerKindWrong, s, s+"#capture.kafkaCdc.container", "kafkaCdc needs a kafka container, found postgres")},
		},
		{
			name: "063 sqlWatermark through a team container reference",
			mutate: func(m *modelv1.Model) {
				d := wmDataset("D2", obT("BigInt"), false)
				watermarked(m)
				store(m).Datasets = []*modelv1.Dataset{d}
				store(m).GetCapture().GetSqlWatermark().Container = obRef("bus")
				bus := obKafka("b1:9092")
				bus.GetKafka().Name = "bus"
				teamContainer(m, bus)
				m.Workspaces = nil
				m.Assignments = nil
			},
			keys: []string{s + "#capture.sqlWatermark.container.ref"},
			want: []obProblem{obE(RuleContainerKindWrong, s, s+"#capture.sqlWatermark.container.ref", "sqlWatermark needs a database container, found kafka")},
		},
		{
			name: "063 unresolved reference is left to DS-LINT-006",
			mutate: func(m *modelv1.Model) {
				obSnapshot(store(m)).Container = obRef("nothing")
			},
		},
		{
			name: "064 065 host and port of capture, team, workspace and merge database containers",
			mutate: func(m *modelv1.Model) {
				obSnapshot(store(m)).Container = obPG("bad host", 0)
				tc := obPG("192.0.2.1.1", 70000)
				tc.GetPostgres().Name = "shared"
				teamContainer(m, tc)
				ws := obFindWS(m, "W")
				ws.Container = &modelv1.DataContainer{Kind: &modelv1.DataContainer_Mysql{Mysql: &modelv1.HostDatabase{Host: "ws-db", Port: -1, Database: "w"}}}
				obYellow(m).MergeDatabase = obPG("", 5432)
			},
			keys: []string{
				snap + ".container.postgres.host", snap + ".container.postgres.port",
				"zone[Z]/team[T]#containers[shared].postgres.host", "zone[Z]/team[T]#containers[shared]",
				"workspace[W]#container.mysql", "psp[P]/platform[Y]#yellow.mergeDatabase.postgres.host",
			},
			want: []obProblem{
				obE(RuleHostInvalid, s, snap+".container.postgres.host", "'bad host' is not a valid host name or IP address"),
				obE(RulePortInvalid, s, snap+".container.postgres.port", "port 0 is not in 1–65535"),
				obE(RuleHostInvalid, "psp[P]/platform[Y]", "psp[P]/platform[Y]#yellow.mergeDatabase.postgres.host", "'' is not a valid host name or IP address"),
				obE(RulePortInvalid, "workspace[W]", "workspace[W]#container.mysql", "port -1 is not in 1–65535"),
				obE(RulePortInvalid, "zone[Z]/team[T]", "zone[Z]/team[T]#containers[shared]", "port 70000 is not in 1–65535"),
				obE(RuleHostInvalid, "zone[Z]/team[T]", "zone[Z]/team[T]#containers[shared].postgres.host", "'192.0.2.1.1' is not a valid host name or IP address"),
			},
		},
		{
			name: "064 065 kafka bootstrap servers",
			mutate: func(m *modelv1.Model) {
				kafka(m, "b1:9092", "10.0.0.1:9092", "[2001:db8::1]:9093", "b2", "::1:9092", "b3:x", "b4:99999", "bad!:1", "[::1]")
			},
			keys: []string{s + "#capture.kafkaCdc.container"},
			want: []obProblem{
				obE(RuleHostInvalid, s, s+"#capture.kafkaCdc.container", "'::1' is not a valid host name or IP address"),
				obE(RuleHostInvalid, s, s+"#capture.kafkaCdc.container", "'bad!' is not a valid host name or IP address"),
				obE(RulePortInvalid, s, s+"#capture.kafkaCdc.container", "port '' is not in 1–65535"),
				obE(RulePortInvalid, s, s+"#capture.kafkaCdc.container", "port '' is not in 1–65535"),
				obE(RulePortInvalid, s, s+"#capture.kafkaCdc.container", "port 'x' is not in 1–65535"),
				obE(RulePortInvalid, s, s+"#capture.kafkaCdc.container", "port 99999 is not in 1–65535"),
			},
		},
		{
			name:   "066 capture cron",
			mutate: func(m *modelv1.Model) { obSnapshot(store(m)).Trigger = obCron("60 * * * *") },
			keys:   []string{snap + ".trigger.cron"},
			want: []obProblem{obE(RuleCronInvalid, s, snap+".trigger.cron",
				"'60 * * * *' is not a valid cron expression: minute field '60': 60 is out of range 0–59")},
		},
		{
			name: "066 external trigger and no trigger are fine",
			mutate: func(m *modelv1.Model) {
				obSnapshot(store(m)).Trigger = &modelv1.Trigger{Kind: &modelv1.Trigger_External{External: &modelv1.External{}}}
				s2 := obStore("S2", obDataset("D", obCol("id", obT("Integer"), false, obIP)))
				obSnapshot(s2).Trigger = nil
				m.Datastores = append(m.Datastores, s2)
			},
		},
		{
			name: "067 068 006 source tables",
			mutate: func(m *modelv1.Model) {
				st := store(m)
				st.Datasets = append(st.Datasets,
					obDataset("E", obCol("id", obT("Integer"), false, obIP)),
					obDataset("F", obCol("id", obT("Integer"), false, obIP)))
				obSnapshot(st).SourceTables = map[string]string{"D": "public.d", "E": "a.b.c", "d": "x", "Q": "select"}
			},
			keys: []string{snap + ".sourceTables", snap + ".sourceTables.E", snap + ".sourceTables.Q", snap + ".sourceTables.d"},
			want: []obProblem{
				obE(RuleSourceTablesPartial, s, snap+".sourceTables", "sourceTables must name every dataset or none; missing 'F'"),
				obE(RuleSourceTableInvalid, s, snap+".sourceTables.E", "source table 'a.b.c' must be 'table' or 'schema.table' of SQL identifiers"),
				obE(RuleReferenceUnknown, s, snap+".sourceTables.Q", "dataset 'Q' does not exist"),
				obE(RuleSourceTableInvalid, s, snap+".sourceTables.Q", "source table 'select' must be 'table' or 'schema.table' of SQL identifiers"),
				obE(RuleReferenceUnknown, s, snap+".sourceTables.d", "dataset 'd' does not exist; did you mean 'D'?"),
			},
		},
		{
			name: "069 070 071 072 watermark column",
			mutate: func(m *modelv1.Model) {
				watermarked(m)
				st := store(m)
				st.Datasets = []*modelv1.Dataset{
					wmDataset("A", obT("BigInt"), false),
					obDataset("B", obCol("id", obT("Integer"), false, obIP)),
					wmDataset("C", obVarChar(10), false),
					wmDataset("D", obT("Integer"), false),
					wmDataset("E", obT("BigInt"), true),
					wmDataset("F", &modelv1.DataType{Name: "Timestamp", TimeZone: "UTC"}, false),
				}
			},
			keys: []string{s + "#capture.sqlWatermark.watermarkColumn", "datastore[S]/dataset[C]/column[wm]#type",
				"datastore[S]/dataset[D]/column[wm]#type", "datastore[S]/dataset[E]/column[wm]#nullable"},
			want: []obProblem{
				obE(RuleWatermarkColumnMissing, "datastore[S]/dataset[B]", s+"#capture.sqlWatermark.watermarkColumn", "watermark column 'wm' is not in dataset 'B'"),
				obE(RuleWatermarkType, "datastore[S]/dataset[C]/column[wm]", "datastore[S]/dataset[C]/column[wm]#type",
					"watermark column 'wm' must be an integer type or Timestamp, found VarChar(10)"),
				obE(RuleWatermarkTypeDiffers, "datastore[S]/dataset[D]/column[wm]", "datastore[S]/dataset[D]/column[wm]#type",
					"watermark column 'wm' is BigInt in 'A' but Integer in 'D'"),
				obE(RuleWatermarkNullable, "datastore[S]/dataset[E]/column[wm]", "datastore[S]/dataset[E]/column[wm]#nullable",
					"watermark column 'wm' of 'E' must be nullable: false"),
				obE(RuleWatermarkTypeDiffers, "datastore[S]/dataset[F]/column[wm]", "datastore[S]/dataset[F]/column[wm]",
					"watermark column 'wm' is BigInt in 'A' but Timestamp in 'F'"),
			},
		},
		{
			name: "070 Timestamp watermark everywhere is fine",
			mutate: func(m *modelv1.Model) {
				watermarked(m)
				store(m).Datasets = []*modelv1.Dataset{
					wmDataset("A", &modelv1.DataType{Name: "Timestamp"}, false),
					wmDataset("D", &modelv1.DataType{Name: "Timestamp", TimeZone: "UTC"}, false),
				}
			},
		},
		{
			name: "073 006 kafka topics",
			mutate: func(m *modelv1.Model) {
				kc := kafka(m, "b1:9092")
				kc.TopicPrefix = ""
				kc.Topics = map[string]string{"X": "t.x"}
				st := store(m)
				st.Datasets = append(st.Datasets, obDataset("E", obCol("id", obT("Integer"), false, obIP)))
				kc.Topics["E"] = "t.e"
			},
			keys: []string{s + "#capture.kafkaCdc", s + "#capture.kafkaCdc.topics.X"},
			want: []obProblem{
				obE(RuleKafkaTopicMissing, s, s+"#capture.kafkaCdc", "no topic for dataset 'D': set topics or topicPrefix"),
				obE(RuleReferenceUnknown, s, s+"#capture.kafkaCdc.topics.X", "dataset 'X' does not exist"),
			},
		},
		{
			name: "074 transformerOutput names a missing workspace, another team's, one without transformer, one writing elsewhere",
			mutate: func(m *modelv1.Model) {
				out := func(name, ws string) {
					st := obStore(name, obDataset("O", obCol("id", obT("Integer"), false, obIP)))
					st.Capture = &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_TransformerOutput{
						TransformerOutput: &modelv1.TransformerOutputCapture{Workspace: ws}}}
					m.Datastores = append(m.Datastores, st)
				}
				out("O1", "Ghost")
				out("O2", "Other")
				out("O3", "W")
				out("O4", "X")
				other := obWorkspace("Other", obDSG("G", obSink("S", "D")))
				other.Team = "U"
				m.Workspaces = append(m.Workspaces, other)
				obTransformer(m, "X", "O5", map[string]string{"O": "SELECT 1"}, obDataset("O", obCol("id", obT("Integer"), false, obIP)))
			},
			keys: []string{"datastore[O1]#capture.transformerOutput.workspace"},
			want: []obProblem{
				obE(RuleTransformerOutputWS, "datastore[O1]", "datastore[O1]#capture.transformerOutput.workspace",
					"datastore 'O1' is the output of workspace 'Ghost', which does not exist in team 'Z/T'"),
				obE(RuleTransformerOutputWS, "datastore[O2]", "datastore[O2]",
					"datastore 'O2' is the output of workspace 'Other', which does not exist in team 'Z/T'"),
				obE(RuleTransformerOutputWS, "datastore[O3]", "datastore[O3]",
					"datastore 'O3' is the output of workspace 'W', which has no transformer"),
				obE(RuleTransformerOutputWS, "datastore[O4]", "datastore[O4]",
					"datastore 'O4' is the output of workspace 'X', which writes 'O5'"),
			},
		},
		{
			name: "075 SQL capture credential must be USER_PASSWORD",
			mutate: func(m *modelv1.Model) {
				obSnapshot(store(m)).Credential = obCred("SRC", modelv1.CredentialType_CREDENTIAL_TYPE_API_TOKEN)
			},
			keys: []string{snap + ".credential.type"},
			want: []obProblem{obE(RuleCredentialTypeWrong, s, snap+".credential.type",
				"sqlSnapshot capture of 'S' needs a USER_PASSWORD credential, 'SRC' is API_TOKEN")},
		},
		{
			name: "075 kafka credential: client certificate is fine, API key pair is not",
			mutate: func(m *modelv1.Model) {
				kafka(m, "b1:9092").Credential = obCred("K", modelv1.CredentialType_CREDENTIAL_TYPE_API_KEY_PAIR)
				s2 := obStore("S2", obDataset("D", obCol("id", obT("Integer"), false, obIP)))
				s2.Capture = &modelv1.CaptureMetadata{Kind: &modelv1.CaptureMetadata_KafkaCdc{KafkaCdc: &modelv1.KafkaCdcCapture{
					Container: obKafka("b:1"), Consistency: modelv1.Consistency_CONSISTENCY_SINGLE_DATASET, TopicPrefix: "p",
					Credential: obCred("K2", modelv1.CredentialType_CREDENTIAL_TYPE_CLIENT_CERT_WITH_KEY),
				}}}
				m.Datastores = append(m.Datastores, s2)
			},
			want: []obProblem{obE(RuleCredentialTypeWrong, s, s,
				"kafkaCdc capture of 'S' needs a USER_PASSWORD or CLIENT_CERT_WITH_KEY credential, 'K' is API_KEY_PAIR")},
		},
		{
			name: "075 raw archive credential must be API_KEY_PAIR",
			mutate: func(m *modelv1.Model) {
				obYellow(m).RawArchive = &modelv1.RawArchive{Bucket: "b", Credential: obCred("ARCH", modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD)}
			},
			keys: []string{"psp[P]/platform[Y]#yellow.rawArchive.credential.type"},
			want: []obProblem{obE(RuleCredentialTypeWrong, "psp[P]/platform[Y]", "psp[P]/platform[Y]#yellow.rawArchive.credential.type",
				"rawArchive of 'Y' needs a API_KEY_PAIR credential, 'ARCH' is USER_PASSWORD")},
		},
		{
			name: "075 raw archive API_KEY_PAIR is fine",
			mutate: func(m *modelv1.Model) {
				obYellow(m).RawArchive = &modelv1.RawArchive{Bucket: "b", Credential: obCred("ARCH", modelv1.CredentialType_CREDENTIAL_TYPE_API_KEY_PAIR)}
			},
		},
		{
			name: "076 every store holds every type of the spec table",
			mutate: func(m *modelv1.Model) {
				for _, cs := range []*modelv1.CredentialStore{
					{Kind: &modelv1.CredentialStore_File{File: &modelv1.FileCredentialStore{Root: "/r"}}},
					{Kind: &modelv1.CredentialStore_Vault{Vault: &modelv1.VaultCredentialStore{Address: "a", Mount: "m"}}},
				} {
					p := &modelv1.PlatformServicesProvider{Name: "P" + storeKind(cs), CredentialStore: cs, Platforms: []*modelv1.DataPlatform{{
						Name: "Y" + storeKind(cs), Kind: &modelv1.DataPlatform_Yellow{Yellow: &modelv1.YellowPlatform{
							MergeDatabase:      obPG("m", 1),
							MergeCredential:    obCred("M", modelv1.CredentialType_CREDENTIAL_TYPE_CA_CERT_BUNDLE),
							SecurityCredential: obCred("SEC", modelv1.CredentialType_CREDENTIAL_TYPE_API_TOKEN),
						}},
					}}}
					m.Psps = append(m.Psps, p)
				}
			},
		},
		{
			name: "076 a credential type the store table does not list",
			mutate: func(m *modelv1.Model) {
				obYellow(m).MergeCredential.Type = modelv1.CredentialType(42)
			},
			keys: []string{"psp[P]/platform[Y]#yellow.mergeCredential.type"},
			want: []obProblem{obE(RuleCredentialStoreUnsupport, "psp[P]/platform[Y]", "psp[P]/platform[Y]#yellow.mergeCredential.type",
				"credential store 'env' cannot hold 42 credentials")},
		},
	})
}
