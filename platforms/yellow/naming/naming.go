// Package naming owns the physical names of a Yellow platform (yellow.md §2): phys(), the schema
// and name of every table, view and schema Yellow creates in its merge database, and the role
// names of the security service (security.md §2). Every other part of Yellow derives names here,
// so lint (DS-YELLOW-017), the merge service and the security service always agree.
package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// MaxIdentifier is PostgreSQL's identifier limit in bytes.
const MaxIdentifier = 63

// truncatedPrefix is the number of bytes phys() keeps of a name that is too long; the rest of
// the 63 bytes is '_' and 8 hex characters of its hash.
const truncatedPrefix = 54

// Phys maps a logical name to a physical identifier: lower-cased; if longer than 63 bytes, its
// first 54 bytes + "_" + the first 8 hex characters of SHA-256 of the lower-cased full name
// (always exactly 63 bytes).
func Phys(x string) string {
	l := lowerASCII(x)
	if len(l) <= MaxIdentifier {
		return l
	}
	sum := sha256.Sum256([]byte(l))
	return l[:truncatedPrefix] + "_" + hex.EncodeToString(sum[:4])
}

// lowerASCII lower-cases A–Z only: names are SQL identifiers (ASCII), and byte lengths must not
// change.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; 'A' <= c && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// join is Phys(strings.Join(parts, "_")).
func join(parts ...string) string { return string(appendPhys(nil, parts...)) }

// appendPhys appends Phys(strings.Join(parts, "_")) to dst without allocating beyond dst's
// growth: lint derives hundreds of thousands of names for a large model.
func appendPhys(dst []byte, parts ...string) []byte {
	start := len(dst)
	for i, p := range parts {
		if i > 0 {
			dst = append(dst, '_')
		}
		for j := 0; j < len(p); j++ {
			c := p[j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			dst = append(dst, c)
		}
	}
	if len(dst)-start <= MaxIdentifier {
		return dst
	}
	sum := sha256.Sum256(dst[start:])
	dst = append(dst[:start+truncatedPrefix], '_')
	return hex.AppendEncode(dst, sum[:4])
}

// Name is a schema-qualified table or view name.
type Name struct {
	Schema string
	Name   string
}

// String renders schema.name unquoted (for messages; SQL quotes each part).
func (n Name) String() string { return n.Schema + "." + n.Name }

// PlatformSchema is the platform's internal schema phys(D).
func PlatformSchema(d string) string { return Phys(d) }

func platformTable(d, table string) Name {
	return Name{Schema: PlatformSchema(d), Name: join(d, table)}
}

// StagingTable is phys(D).phys(D_S_T_staging).
func StagingTable(d, s, t string) Name {
	return Name{Schema: PlatformSchema(d), Name: string(AppendStagingTable(nil, d, s, t))}
}

// AppendStagingTable appends the name (without schema) of StagingTable(d, s, t) to dst.
func AppendStagingTable(dst []byte, d, s, t string) []byte {
	return appendPhys(dst, d, s, t, "staging")
}

// MergeTable is phys(D).phys(D_S_T_merge).
func MergeTable(d, s, t string) Name {
	return Name{Schema: PlatformSchema(d), Name: string(AppendMergeTable(nil, d, s, t))}
}

// AppendMergeTable appends the name (without schema) of MergeTable(d, s, t) to dst.
func AppendMergeTable(dst []byte, d, s, t string) []byte { return appendPhys(dst, d, s, t, "merge") }

// CDCLoadTable is phys(D).phys(D_S_T_cdcload) (UNLOGGED).
func CDCLoadTable(d, s, t string) Name {
	return Name{Schema: PlatformSchema(d), Name: string(AppendCDCLoadTable(nil, d, s, t))}
}

// AppendCDCLoadTable appends the name (without schema) of CDCLoadTable(d, s, t) to dst.
func AppendCDCLoadTable(dst []byte, d, s, t string) []byte {
	return appendPhys(dst, d, s, t, "cdcload")
}

// BatchCounter is phys(D).phys(D_batch_counter).
func BatchCounter(d string) Name { return platformTable(d, "batch_counter") }

// BatchMetrics is phys(D).phys(D_batch_metrics).
func BatchMetrics(d string) Name { return platformTable(d, "batch_metrics") }

// TransformerRuns is phys(D).phys(D_transformer_runs).
func TransformerRuns(d string) Name { return platformTable(d, "transformer_runs") }

// CDCRejects is phys(D).phys(D_cdc_rejects).
func CDCRejects(d string) Name { return platformTable(d, "cdc_rejects") }

// RoleSecrets is phys(D).phys(D_role_secrets), the security service's owner-only table.
func RoleSecrets(d string) Name { return platformTable(d, "role_secrets") }

// WorkspaceSchema is phys(D_W), the schema of workspace W's views.
func WorkspaceSchema(d, w string) string { return join(d, w) }

// LiveView is phys(D_W).phys(D_W_G_S_T_view_live).
func LiveView(d, w, g, s, t string) Name {
	return Name{Schema: WorkspaceSchema(d, w), Name: string(AppendLiveView(nil, d, w, g, s, t))}
}

// AppendLiveView appends the name (without schema) of LiveView(d, w, g, s, t) to dst.
func AppendLiveView(dst []byte, d, w, g, s, t string) []byte {
	return appendPhys(dst, d, w, g, s, t, "view_live")
}

// FullView is phys(D_W).phys(D_W_G_S_T_view_full), the full-history view.
func FullView(d, w, g, s, t string) Name {
	return Name{Schema: WorkspaceSchema(d, w), Name: string(AppendFullView(nil, d, w, g, s, t))}
}

// AppendFullView appends the name (without schema) of FullView(d, w, g, s, t) to dst.
func AppendFullView(dst []byte, d, w, g, s, t string) []byte {
	return appendPhys(dst, d, w, g, s, t, "view_full")
}

// TransformerSchema is phys(D_dt_W), the output schema of workspace W's transformer.
func TransformerSchema(d, w string) string { return join(d, "dt", w) }

// TransformerTable is phys(D_dt_W).phys(D_dt_S_T), the table transformer W writes for dataset T
// of its output datastore S.
func TransformerTable(d, w, s, t string) Name {
	return Name{Schema: TransformerSchema(d, w), Name: join(d, "dt", s, t)}
}

// Index is phys(<table>_<suffix>), an index or constraint of a table (in the table's schema).
func Index(table, suffix string) string { return join(table, suffix) }

// OwnerRole is phys(D_owner), the NOLOGIN role that owns every object of the platform.
func OwnerRole(d string) string { return join(d, "owner") }

// ReaderRole is phys(D_reader), the role secondaries read a primary platform's merge tables with.
func ReaderRole(d string) string { return join(d, "reader") }

// WorkspaceRole is phys(D_ws_W), workspace W's group role.
func WorkspaceRole(d, w string) string { return join(d, "ws", w) }

// TransformerRole is phys(D_dt_W), the login role transformer W runs as.
func TransformerRole(d, w string) string { return join(d, "dt", w) }

// TransformerCredential is upper(D_DT_W), the credential name the transformer login's secret
// is resolved under (model.md §4.14).
func TransformerCredential(d, w string) string { return strings.ToUpper(d + "_DT_" + w) }
