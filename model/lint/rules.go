package lint

import "github.com/datasurface/datasurface/model/problem"

func rule(id, name string, sev problem.Severity) problem.Rule {
	return problem.Rule{ID: id, Name: name, Severity: sev}
}

const (
	e = problem.Error
	w = problem.Warning
	i = problem.Info
)

// The rules of spec/model.md §7.2–§7.7. (§7.1 is the loader's; §7.8 is platforms/yellow's.)
var (
	RuleSQLIdentifierInvalid  = rule("DS-LINT-001", "sql-identifier-invalid", e)
	RuleSQLIdentifierReserved = rule("DS-LINT-002", "sql-identifier-reserved", e)
	RuleDisplayNameInvalid    = rule("DS-LINT-003", "display-name-invalid", e)
	RuleDuplicateName         = rule("DS-LINT-004", "duplicate-name", e)
	RuleNameCaseCollision     = rule("DS-LINT-005", "name-case-collision", e)
	RuleReferenceUnknown      = rule("DS-LINT-006", "reference-unknown", e)
	RuleCredentialNameInvalid = rule("DS-LINT-007", "credential-name-invalid", e)

	RuleLiveRepoMissing            = rule("DS-LINT-010", "live-repo-missing", e)
	RuleLiveRepoIsOwner            = rule("DS-LINT-011", "live-repo-is-owner", e)
	RuleRepositoryInvalid          = rule("DS-LINT-012", "repository-invalid", e)
	RuleBranchInvalid              = rule("DS-LINT-013", "branch-invalid", e)
	RuleVendorDocumentationMissing = rule("DS-LINT-014", "vendor-documentation-missing", e)
	RuleLocationKeyInvalid         = rule("DS-LINT-015", "location-key-invalid", e)
	RuleLocationVendorUnknown      = rule("DS-LINT-016", "location-vendor-unknown", e)
	RuleLocationUnknown            = rule("DS-LINT-017", "location-unknown", e)
	RuleZoneNotDeclared            = rule("DS-LINT-018", "zone-not-declared", e)
	RuleTeamNotDeclared            = rule("DS-LINT-019", "team-not-declared", e)
	RuleZoneUndefinedForTeam       = rule("DS-LINT-020", "zone-undefined-for-team", e)

	RulePolicyOverlap           = rule("DS-LINT-030", "policy-overlap", e)
	RuleStoragePolicyForeign    = rule("DS-LINT-031", "storage-policy-foreign", e)
	RuleStoragePolicyDeprecated = rule("DS-LINT-032", "storage-policy-deprecated", e)
	RuleLocationPolicyViolation = rule("DS-LINT-033", "location-policy-violation", e)
	RuleHardVendorMissing       = rule("DS-LINT-034", "hard-vendor-missing", e)
	RulePlatformPolicyViolation = rule("DS-LINT-035", "platform-policy-violation", e)

	RuleDatastoreEmpty           = rule("DS-LINT-040", "datastore-empty", e)
	RuleProductionUnclassified   = rule("DS-LINT-041", "production-unclassified", e)
	RuleClassificationConflict   = rule("DS-LINT-042", "classification-conflict", e)
	RuleDatasetUnclassified      = rule("DS-LINT-043", "dataset-unclassified", w)
	RulePKColumnUnknown          = rule("DS-LINT-044", "pk-column-unknown", e)
	RulePKColumnNullable         = rule("DS-LINT-045", "pk-column-nullable", e)
	RuleKeyColumnRepeated        = rule("DS-LINT-046", "key-column-repeated", e)
	RulePartitionColumnUnknown   = rule("DS-LINT-047", "partition-column-unknown", e)
	RulePartitionColumnNullable  = rule("DS-LINT-048", "partition-column-nullable", e)
	RuleTypeSizeInvalid          = rule("DS-LINT-049", "type-size-invalid", e)
	RuleDecimalInvalid           = rule("DS-LINT-050", "decimal-invalid", e)
	RuleFloatInvalid             = rule("DS-LINT-051", "float-invalid", e)
	RuleMXInvalid                = rule("DS-LINT-052", "mx-invalid", e)
	RuleGeographyInvalid         = rule("DS-LINT-053", "geography-invalid", e)
	RuleStructInvalid            = rule("DS-LINT-054", "struct-invalid", e)
	RuleTimezoneUnknown          = rule("DS-LINT-055", "timezone-unknown", e)
	RuleApprovalTargetUnknown    = rule("DS-LINT-056", "approval-target-unknown", w)
	RuleCaptureMissing           = rule("DS-LINT-060", "capture-missing", e)
	RuleConsistencyMissing       = rule("DS-LINT-061", "consistency-missing", e)
	RuleContainerMissing         = rule("DS-LINT-062", "container-missing", e)
	RuleContainerKindWrong       = rule("DS-LINT-063", "container-kind-wrong", e)
	RuleHostInvalid              = rule("DS-LINT-064", "host-invalid", e)
	RulePortInvalid              = rule("DS-LINT-065", "port-invalid", e)
	RuleCronInvalid              = rule("DS-LINT-066", "cron-invalid", e)
	RuleSourceTablesPartial      = rule("DS-LINT-067", "source-tables-partial", e)
	RuleSourceTableInvalid       = rule("DS-LINT-068", "source-table-invalid", e)
	RuleWatermarkColumnMissing   = rule("DS-LINT-069", "watermark-column-missing", e)
	RuleWatermarkType            = rule("DS-LINT-070", "watermark-type", e)
	RuleWatermarkTypeDiffers     = rule("DS-LINT-071", "watermark-type-differs", e)
	RuleWatermarkNullable        = rule("DS-LINT-072", "watermark-nullable", e)
	RuleKafkaTopicMissing        = rule("DS-LINT-073", "kafka-topic-missing", e)
	RuleTransformerOutputWS      = rule("DS-LINT-074", "transformer-output-workspace", e)
	RuleCredentialTypeWrong      = rule("DS-LINT-075", "credential-type-wrong", e)
	RuleCredentialStoreUnsupport = rule("DS-LINT-076", "credential-store-unsupported", e)
	RuleRepositoryCredential     = rule("DS-LINT-077", "repository-credential", e)

	RuleDSGEmpty                   = rule("DS-LINT-080", "dsg-empty", e)
	RuleSinkDatasetUnknown         = rule("DS-LINT-081", "sink-dataset-unknown", e)
	RuleSinkNotApproved            = rule("DS-LINT-082", "sink-not-approved", e)
	RuleProductionMismatch         = rule("DS-LINT-083", "production-mismatch", w)
	RuleDeprecatedInUse            = rule("DS-LINT-084", "deprecated-in-use", e)
	RuleDeprecatedAcknowledged     = rule("DS-LINT-085", "deprecated-acknowledged", w)
	RuleClassificationNotApproved  = rule("DS-LINT-086", "classification-not-approved", e)
	RuleColumnsMasked              = rule("DS-LINT-087", "columns-masked", i)
	RuleClassificationPolicy       = rule("DS-LINT-088", "classification-policy", e)
	RuleConsumerInvalid            = rule("DS-LINT-089", "consumer-invalid", e)
	RuleTransformerWorkspaceAssign = rule("DS-LINT-090", "transformer-workspace-assigned", e)
	RuleTransformerOutputUnknown   = rule("DS-LINT-091", "transformer-output-unknown", e)
	RuleTransformerOutputOtherTeam = rule("DS-LINT-092", "transformer-output-other-team", e)
	RuleTransformerOutputCapture   = rule("DS-LINT-093", "transformer-output-capture", e)
	RuleTransformerSQLCoverage     = rule("DS-LINT-094", "transformer-sql-coverage", e)
	RuleTransformerSQLInvalid      = rule("DS-LINT-095", "transformer-sql-invalid", e)
	RuleTransformerInputUnknown    = rule("DS-LINT-096", "transformer-input-unknown", e)
	RuleTransformerCycle           = rule("DS-LINT-097", "transformer-cycle", e)
	RuleAssignmentUnknown          = rule("DS-LINT-098", "assignment-unknown", e)
	RuleAssignmentRequirementsMiss = rule("DS-LINT-099", "assignment-requirements-missing", e)
	RulePrimaryIngestionUnknown    = rule("DS-LINT-100", "primary-ingestion-unknown", e)
	RuleStreamOverrideInvalid      = rule("DS-LINT-101", "stream-override-invalid", e)
	RulePlatformUnmanagedAccess    = rule("DS-LINT-102", "platform-unmanaged-access", w)
)

// Rules lists every rule lint itself may report.
var Rules = []problem.Rule{
	RuleSQLIdentifierInvalid, RuleSQLIdentifierReserved, RuleDisplayNameInvalid, RuleDuplicateName,
	RuleNameCaseCollision, RuleReferenceUnknown, RuleCredentialNameInvalid,
	RuleLiveRepoMissing, RuleLiveRepoIsOwner, RuleRepositoryInvalid, RuleBranchInvalid,
	RuleVendorDocumentationMissing, RuleLocationKeyInvalid, RuleLocationVendorUnknown,
	RuleLocationUnknown, RuleZoneNotDeclared, RuleTeamNotDeclared, RuleZoneUndefinedForTeam,
	RulePolicyOverlap, RuleStoragePolicyForeign, RuleStoragePolicyDeprecated,
	RuleLocationPolicyViolation, RuleHardVendorMissing, RulePlatformPolicyViolation,
	RuleDatastoreEmpty, RuleProductionUnclassified, RuleClassificationConflict,
	RuleDatasetUnclassified, RulePKColumnUnknown, RulePKColumnNullable, RuleKeyColumnRepeated,
	RulePartitionColumnUnknown, RulePartitionColumnNullable, RuleTypeSizeInvalid,
	RuleDecimalInvalid, RuleFloatInvalid, RuleMXInvalid, RuleGeographyInvalid, RuleStructInvalid,
	RuleTimezoneUnknown, RuleApprovalTargetUnknown, RuleCaptureMissing, RuleConsistencyMissing,
	RuleContainerMissing, RuleContainerKindWrong, RuleHostInvalid, RulePortInvalid,
	RuleCronInvalid, RuleSourceTablesPartial, RuleSourceTableInvalid, RuleWatermarkColumnMissing,
	RuleWatermarkType, RuleWatermarkTypeDiffers, RuleWatermarkNullable, RuleKafkaTopicMissing,
	RuleTransformerOutputWS, RuleCredentialTypeWrong, RuleCredentialStoreUnsupport,
	RuleRepositoryCredential, RuleDSGEmpty, RuleSinkDatasetUnknown, RuleSinkNotApproved,
	RuleProductionMismatch, RuleDeprecatedInUse, RuleDeprecatedAcknowledged,
	RuleClassificationNotApproved, RuleColumnsMasked, RuleClassificationPolicy,
	RuleConsumerInvalid, RuleTransformerWorkspaceAssign, RuleTransformerOutputUnknown,
	RuleTransformerOutputOtherTeam, RuleTransformerOutputCapture, RuleTransformerSQLCoverage,
	RuleTransformerSQLInvalid, RuleTransformerInputUnknown, RuleTransformerCycle,
	RuleAssignmentUnknown, RuleAssignmentRequirementsMiss, RulePrimaryIngestionUnknown,
	RuleStreamOverrideInvalid, RulePlatformUnmanagedAccess,
}
