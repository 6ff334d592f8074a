package lint

import (
	"slices"
	"strconv"
	"strings"

	"github.com/datasurface/datasurface/model/dtype"
	"github.com/datasurface/datasurface/model/index"
	"github.com/datasurface/datasurface/model/names"
	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// databaseVariants are the container variants an SQL capture (sqlSnapshot, sqlWatermark) can
// read from.
var databaseVariants = map[string]bool{
	"postgres": true, "mysql": true, "oracle": true, "sqlServer": true, "db2": true, "snowflake": true,
}

// node is a source-map key built only when a problem is reported: the object path, "#", then
// field + sub + rel (e.g. path "datastore[S]", field "capture.sqlSnapshot", sub ".container",
// key(".postgres.host")).
// Checking a clean object therefore concatenates nothing.
type node struct {
	path, field, sub string
}

// key returns the source-map key of the node's field + sub + rel.
func (n node) key(rel string) string { return n.path + "#" + n.field + n.sub + rel }

// at returns the node of a field below n; n must not have a sub part yet.
func (n node) at(sub string) node { return node{n.path, n.field, sub} }

// checkCapture: DS-LINT-060..075 for one datastore's capture metadata; path is its object path.
func (k *objChecker) checkCapture(ds *modelv1.Datastore, path string) {
	s := ds.GetName()
	cp := index.CaptureOf(ds)
	switch cp.Kind {
	case "":
		k.c.Report(RuleCaptureMissing, path, path+"#capture", "datastore '%s' has no capture", s)
		return
	case index.KindTransformerOutput:
		k.checkTransformerOutputCapture(ds, path)
		return
	}
	n := node{path, cp.FieldPrefix, ""}
	if cp.Consistency == modelv1.Consistency_CONSISTENCY_UNSPECIFIED {
		k.c.Report(RuleConsistencyMissing, path, n.key(".consistency"),
			"capture of '%s' must set consistency (SINGLE_DATASET or MULTI_DATASET)", s)
	}
	k.checkCaptureContainer(ds, cp, n)
	k.checkCaptureCredential(ds, cp, n)
	if cp.Trigger != nil {
		k.checkCron(cp.Trigger, n.at(".trigger.cron"))
	}
	switch v := ds.GetCapture().GetKind().(type) {
	case *modelv1.CaptureMetadata_SqlSnapshot:
		k.checkSourceTables(ds, cp.SourceTables, n)
	case *modelv1.CaptureMetadata_SqlWatermark:
		k.checkSourceTables(ds, cp.SourceTables, n)
		k.checkWatermark(ds, v.SqlWatermark.GetWatermarkColumn(), n)
	case *modelv1.CaptureMetadata_KafkaCdc:
		k.checkTopics(ds, v.KafkaCdc, n)
	}
}

// checkCaptureContainer: DS-LINT-062 (missing), 063 (wrong variant, after following a team
// container reference; an unresolved reference is DS-LINT-006's) and 064/065 for an inline
// container (a referenced team container is checked once, at its team).
func (k *objChecker) checkCaptureContainer(ds *modelv1.Datastore, cp index.Capture, n node) {
	if cp.Container.GetKind() == nil {
		k.c.Report(RuleContainerMissing, n.path, n.key(".container"), "capture of '%s' needs a container", ds.GetName())
		return
	}
	authored := index.ContainerOf(cp.Container).Variant
	if authored != "ref" {
		k.checkContainerAddress(cp.Container, n.at(".container"))
	}
	resolved := k.x.ResolveContainer(ds.GetZone(), ds.GetTeam(), cp.Container)
	if resolved == nil {
		return
	}
	actual := index.ContainerOf(resolved).Variant
	expected, ok := "database", databaseVariants[actual]
	if cp.Kind == index.KindKafkaCDC {
		expected, ok = "kafka", actual == "kafka"
	}
	if !ok {
		k.c.Report(RuleContainerKindWrong, n.path, n.key(".container."+authored), "%s needs a %s container, found %s", cp.Kind, expected, actual)
	}
}

// checkContainerAddress: DS-LINT-064/065 for the host and port of a database container, or the
// host:port entries of a Kafka container's bootstrapServers. n is the container's node.
func (k *objChecker) checkContainerAddress(dc *modelv1.DataContainer, n node) {
	info := index.ContainerOf(dc)
	if h := info.Host; h != nil {
		if !names.ValidHost(h.GetHost()) {
			k.c.Report(RuleHostInvalid, n.path, n.key("."+info.Variant+".host"), "'%s' is not a valid host name or IP address", oneLineName(h.GetHost()))
		}
		if !names.ValidPort(int64(h.GetPort())) {
			k.c.Report(RulePortInvalid, n.path, n.key("."+info.Variant+".port"), "port %d is not in 1–65535", h.GetPort())
		}
		return
	}
	kc, ok := dc.GetKind().(*modelv1.DataContainer_Kafka)
	if !ok {
		return
	}
	for _, srv := range kc.Kafka.GetBootstrapServers() {
		host, port := splitHostPort(srv)
		if !hostOfAddress(host) {
			k.c.Report(RuleHostInvalid, n.path, n.key(".kafka.bootstrapServers["+srv+"]"), "'%s' is not a valid host name or IP address", oneLineName(host))
		}
		if !isDigits(port) {
			k.c.Report(RulePortInvalid, n.path, n.key(".kafka.bootstrapServers["+srv+"]"), "port '%s' is not in 1–65535", oneLineName(port))
		} else if p, err := strconv.ParseInt(port, 10, 64); err != nil || !names.ValidPort(p) {
			k.c.Report(RulePortInvalid, n.path, n.key(".kafka.bootstrapServers["+srv+"]"), "port %s is not in 1–65535", port)
		}
	}
}

// splitHostPort splits "host:port" or "[ipv6]:port"; port is "" when there is none.
func splitHostPort(s string) (host, port string) {
	if strings.HasPrefix(s, "[") {
		if end := strings.IndexByte(s, ']'); end >= 0 {
			if p, ok := strings.CutPrefix(s[end+1:], ":"); ok {
				return s[:end+1], p
			}
		}
		return s, ""
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// hostOfAddress validates the host part of a host:port address: a host name, an IPv4 literal
// or a bracketed IPv6 literal.
func hostOfAddress(h string) bool {
	if inner, ok := strings.CutPrefix(h, "["); ok {
		inner, ok = strings.CutSuffix(inner, "]")
		return ok && strings.Contains(inner, ":") && names.ValidHost(inner)
	}
	return !strings.Contains(h, ":") && names.ValidHost(h)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkCron: DS-LINT-066 for a cron trigger; n is the node of the cron string. Verdicts are
// cached: a large model repeats a few schedules.
func (k *objChecker) checkCron(t *modelv1.Trigger, n node) {
	cron, ok := t.GetKind().(*modelv1.Trigger_Cron)
	if !ok {
		return
	}
	err, cached := k.crons[cron.Cron]
	if !cached {
		_, err = names.ParseCron(cron.Cron)
		if k.crons == nil {
			k.crons = make(map[string]error)
		}
		k.crons[cron.Cron] = err
	}
	if err != nil {
		k.c.Report(RuleCronInvalid, n.path, n.key(""), "'%s' is not a valid cron expression: %s", oneLineName(cron.Cron), err)
	}
}

// checkSourceTables: DS-LINT-067 (all datasets or none), 068 (table or schema.table of SQL
// identifiers) and DS-LINT-006 for a key that names no dataset.
func (k *objChecker) checkSourceTables(ds *modelv1.Datastore, tables map[string]string, n node) {
	if len(tables) == 0 {
		return
	}
	named := 0
	for _, d := range ds.GetDatasets() {
		if _, ok := tables[d.GetName()]; ok {
			named++
		} else {
			k.c.Report(RuleSourceTablesPartial, n.path, n.key(".sourceTables"), "sourceTables must name every dataset or none; missing '%s'", d.GetName())
		}
	}
	// every key names a dataset when as many keys as datasets were found (names are unique)
	unknownKeys := named < len(tables)
	for dn, t := range tables { // order is irrelevant: problems are sorted by position and message
		if unknownKeys && k.dataset(ds, dn) == nil {
			k.reportUnknownDatasetKey(ds, dn, n.path, n.key(".sourceTables."+dn))
		}
		schema, table, qualified := strings.Cut(t, ".")
		if !qualified {
			schema, table = "", t
		}
		if !names.IsSQLIdentifier(table) || qualified && !names.IsSQLIdentifier(schema) {
			k.c.Report(RuleSourceTableInvalid, n.path, n.key(".sourceTables."+dn), "source table '%s' must be 'table' or 'schema.table' of SQL identifiers", oneLineName(t))
		}
	}
}

// reportUnknownDatasetKey reports DS-LINT-006 for a map key (sourceTables, topics) that names
// no dataset of ds, suggesting a spelling that differs only by case.
func (k *objChecker) reportUnknownDatasetKey(ds *modelv1.Datastore, dn, path, key string) {
	for _, d := range ds.GetDatasets() {
		if strings.EqualFold(d.GetName(), dn) {
			k.c.Report(RuleReferenceUnknown, path, key, "dataset '%s' does not exist; did you mean '%s'?", dn, d.GetName())
			return
		}
	}
	k.c.Report(RuleReferenceUnknown, path, key, "dataset '%s' does not exist", dn)
}

// checkWatermark: DS-LINT-069..072 — the watermark column exists in every dataset, is an integer
// type or Timestamp, has one type across datasets and is not nullable.
func (k *objChecker) checkWatermark(ds *modelv1.Datastore, wm string, n node) {
	if wm == "" {
		return // required field: the loader's
	}
	s := ds.GetName()
	var firstDataset, firstType string
	for _, d := range ds.GetDatasets() {
		dn := d.GetName()
		col := index.FindColumn(d, wm)
		if col == nil {
			k.c.Report(RuleWatermarkColumnMissing, index.DatasetPath(s, dn), n.key(".watermarkColumn"),
				"watermark column '%s' is not in dataset '%s'", wm, dn)
			continue
		}
		cpath := index.ColumnPath(s, dn, wm)
		if t := col.GetType(); t != nil {
			ts := dtype.String(t)
			switch {
			case dtype.IntegerBits(t.GetName()) == 0 && t.GetName() != "Timestamp":
				k.c.Report(RuleWatermarkType, cpath, cpath+"#type", "watermark column '%s' must be an integer type or Timestamp, found %s", wm, ts)
			case firstDataset == "":
				firstDataset, firstType = dn, ts
			case ts != firstType:
				k.c.Report(RuleWatermarkTypeDiffers, cpath, cpath+"#type", "watermark column '%s' is %s in '%s' but %s in '%s'",
					wm, firstType, firstDataset, ts, dn)
			}
		}
		if col.GetNullable() {
			k.c.Report(RuleWatermarkNullable, cpath, cpath+"#nullable", "watermark column '%s' of '%s' must be nullable: false", wm, dn)
		}
	}
}

// checkTopics: DS-LINT-073 (every dataset has a topic) and DS-LINT-006 for a topics key that
// names no dataset.
func (k *objChecker) checkTopics(ds *modelv1.Datastore, kc *modelv1.KafkaCdcCapture, n node) {
	topics := kc.GetTopics()
	named := 0
	for _, d := range ds.GetDatasets() {
		if _, ok := topics[d.GetName()]; ok {
			named++
		}
		if kc.GetTopicPrefix() == "" && topics[d.GetName()] == "" {
			k.c.Report(RuleKafkaTopicMissing, n.path, n.key(".topics"), "no topic for dataset '%s': set topics or topicPrefix", d.GetName())
		}
	}
	if named == len(topics) {
		return // every key names a dataset
	}
	for dn := range topics {
		if k.dataset(ds, dn) == nil {
			k.reportUnknownDatasetKey(ds, dn, n.path, n.key(".topics."+dn))
		}
	}
}

// checkTransformerOutputCapture: DS-LINT-074 — the workspace named by transformerOutput exists
// in the datastore's team, has a transformer and that transformer writes this datastore.
func (k *objChecker) checkTransformerOutputCapture(ds *modelv1.Datastore, path string) {
	s := ds.GetName()
	wn := ds.GetCapture().GetTransformerOutput().GetWorkspace()
	if wn == "" {
		return // required field: the loader's
	}
	key := path + "#capture.transformerOutput.workspace"
	ws := k.x.Workspaces[wn]
	switch {
	case ws == nil || ws.GetZone() != ds.GetZone() || ws.GetTeam() != ds.GetTeam():
		k.c.Report(RuleTransformerOutputWS, path, key, "datastore '%s' is the output of workspace '%s', which does not exist in team '%s'",
			s, wn, index.TeamKey(ds.GetZone(), ds.GetTeam()))
	case ws.GetTransformer() == nil:
		k.c.Report(RuleTransformerOutputWS, path, key, "datastore '%s' is the output of workspace '%s', which has no transformer", s, wn)
	case ws.GetTransformer().GetOutputDatastore() != s:
		k.c.Report(RuleTransformerOutputWS, path, key, "datastore '%s' is the output of workspace '%s', which writes '%s'",
			s, wn, ws.GetTransformer().GetOutputDatastore())
	}
}

// ---------------------------------------------------------------------------------------------
// Credentials (DS-LINT-075, 076)

// credentialStoreTypes is the table of spec/model.md §4.16: the credential types each store kind
// can hold. Every store has a layout for every type, so DS-LINT-076 only fires for a type added
// to the schema without a layout here (and in the stores).
var credentialStoreTypes = map[string][]modelv1.CredentialType{
	"env":   allCredentialTypes,
	"file":  allCredentialTypes,
	"vault": allCredentialTypes,
}

var allCredentialTypes = []modelv1.CredentialType{
	modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD,
	modelv1.CredentialType_CREDENTIAL_TYPE_API_TOKEN,
	modelv1.CredentialType_CREDENTIAL_TYPE_API_KEY_PAIR,
	modelv1.CredentialType_CREDENTIAL_TYPE_CLIENT_CERT_WITH_KEY,
	modelv1.CredentialType_CREDENTIAL_TYPE_CA_CERT_BUNDLE,
}

// storeKind returns the YAML variant of a credential store: env, file or vault ("" when unset).
func storeKind(cs *modelv1.CredentialStore) string {
	switch cs.GetKind().(type) {
	case *modelv1.CredentialStore_Env:
		return "env"
	case *modelv1.CredentialStore_File:
		return "file"
	case *modelv1.CredentialStore_Vault:
		return "vault"
	}
	return ""
}

// credentialStoreKinds returns the store kinds of the PSPs that host at least one platform able
// to read sources (any non-legacy platform), sorted. A datastore's credential is resolved by the
// store of whichever such platform ingests it, which only the intention graph knows, so capture
// credentials are checked against every one of them.
func credentialStoreKinds(m *modelv1.Model) []string {
	var kinds []string
	for _, p := range m.GetPsps() {
		kind := storeKind(p.GetCredentialStore())
		if kind == "" || slices.Contains(kinds, kind) {
			continue
		}
		if slices.ContainsFunc(p.GetPlatforms(), func(d *modelv1.DataPlatform) bool { return d.GetLegacy() == nil }) {
			kinds = append(kinds, kind)
		}
	}
	slices.Sort(kinds)
	return kinds
}

func credentialTypeName(t modelv1.CredentialType) string {
	return enumName(t.String(), "CREDENTIAL_TYPE_")
}

// checkCredentialStore: DS-LINT-076 for credential cr resolved by a store of kind kind; n is
// the node of the credential's type.
func (k *objChecker) checkCredentialStore(cr *modelv1.Credential, kind string, n node) {
	t := cr.GetType()
	if cr == nil || kind == "" || t == modelv1.CredentialType_CREDENTIAL_TYPE_UNSPECIFIED {
		return
	}
	if !slices.Contains(credentialStoreTypes[kind], t) {
		k.c.Report(RuleCredentialStoreUnsupport, n.path, n.key(""), "credential store '%s' cannot hold %s credentials", kind, credentialTypeName(t))
	}
}

// checkCredentialType: DS-LINT-075 for credential cr used as "<use> '<of>'"; n is its type's
// node.
func (k *objChecker) checkCredentialType(cr *modelv1.Credential, use, of string, expected []modelv1.CredentialType, n node) {
	t := cr.GetType()
	if cr == nil || t == modelv1.CredentialType_CREDENTIAL_TYPE_UNSPECIFIED || slices.Contains(expected, t) {
		return
	}
	want := make([]string, len(expected))
	for i, e := range expected {
		want[i] = credentialTypeName(e)
	}
	k.c.Report(RuleCredentialTypeWrong, n.path, n.key(""), "%s '%s' needs a %s credential, '%s' is %s",
		use, of, strings.Join(want, " or "), cr.GetName(), credentialTypeName(t))
}

// checkCaptureCredential: a SQL capture logs in with USER_PASSWORD; a Kafka capture
// authenticates with SASL (USER_PASSWORD) or mutual TLS (CLIENT_CERT_WITH_KEY).
func (k *objChecker) checkCaptureCredential(ds *modelv1.Datastore, cp index.Capture, n node) {
	cr := cp.Credential
	if cr == nil {
		return // required field: the loader's
	}
	at := n.at(".credential.type")
	expected, use := sqlCredentialTypes, "sqlSnapshot capture of"
	switch cp.Kind {
	case index.KindSQLWatermark:
		use = "sqlWatermark capture of"
	case index.KindKafkaCDC:
		expected, use = kafkaCredentialTypes, "kafkaCdc capture of"
	}
	k.checkCredentialType(cr, use, ds.GetName(), expected, at)
	for _, kind := range k.storeKinds {
		k.checkCredentialStore(cr, kind, at)
	}
}

// Credential types by use (DS-LINT-075): an SQL source login is a user and password; a Kafka
// client authenticates with SASL (USER_PASSWORD) or mutual TLS (CLIENT_CERT_WITH_KEY); the raw
// archive (S3/MinIO) uses an access key pair.
var (
	sqlCredentialTypes   = []modelv1.CredentialType{modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD}
	kafkaCredentialTypes = []modelv1.CredentialType{
		modelv1.CredentialType_CREDENTIAL_TYPE_USER_PASSWORD, modelv1.CredentialType_CREDENTIAL_TYPE_CLIENT_CERT_WITH_KEY,
	}
	archiveCredentialTypes = []modelv1.CredentialType{modelv1.CredentialType_CREDENTIAL_TYPE_API_KEY_PAIR}
)

// ---------------------------------------------------------------------------------------------
// Team documents and platforms

// checkTeamContainers: DS-LINT-064/065 for every container of every Team document.
func (k *objChecker) checkTeamContainers() {
	for _, t := range k.x.Model.GetTeams() {
		path := index.TeamPath(t.GetZone(), t.GetName())
		for _, dc := range t.GetContainers() {
			k.checkContainerAddress(dc, node{path, "containers[", index.ContainerName(dc) + "]"})
		}
	}
}

// checkPlatforms: DS-LINT-064/065 for Yellow merge databases, DS-LINT-075 for the raw archive
// credential (API_KEY_PAIR; the merge and security credentials are DS-YELLOW-018's) and
// DS-LINT-076 for every credential a platform resolves through its PSP's store.
func (k *objChecker) checkPlatforms() {
	for _, p := range k.x.Model.GetPsps() {
		kind := storeKind(p.GetCredentialStore())
		for _, d := range p.GetPlatforms() {
			y := d.GetYellow()
			if y == nil {
				continue
			}
			path := index.PlatformPath(p.GetName(), d.GetName())
			if y.GetMergeDatabase().GetKind() != nil {
				k.checkContainerAddress(y.GetMergeDatabase(), node{path, "yellow.mergeDatabase", ""})
			}
			if cr := y.GetRawArchive().GetCredential(); cr != nil {
				at := node{path, "yellow.rawArchive.credential.type", ""}
				k.checkCredentialType(cr, "rawArchive of", d.GetName(), archiveCredentialTypes, at)
				k.checkCredentialStore(cr, kind, at)
			}
			if cr := y.GetMergeCredential(); cr != nil {
				k.checkCredentialStore(cr, kind, node{path, "yellow.mergeCredential.type", ""})
			}
			if cr := y.GetSecurityCredential(); cr != nil {
				k.checkCredentialStore(cr, kind, node{path, "yellow.securityCredential.type", ""})
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}
