package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPlatformPhys(t *testing.T) {
	long := "YellowLive_" + strings.Repeat("VeryLongWorkspaceName", 3) + "_main_Store1_customers_view_live"
	lower := strings.ToLower(long)
	sum := sha256.Sum256([]byte(lower))
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "lower-cased", in: "Test_DP", want: "test_dp"},
		{name: "already lower", in: "ds_merge", want: "ds_merge"},
		{name: "exactly 63 bytes kept", in: strings.Repeat("A", 63), want: strings.Repeat("a", 63)},
		{
			name: "64 bytes truncated",
			in:   strings.Repeat("B", 64),
			want: strings.Repeat("b", 54) + "_" + hexPrefix(strings.Repeat("b", 64)),
		},
		{name: "long name: 54 bytes, '_', 8 hex of the lower-cased name", in: long, want: lower[:54] + "_" + hex.EncodeToString(sum[:4])},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Phys(tc.in)
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("Phys(%q) (-want +got):\n%s", tc.in, d)
			}
			if len(got) > MaxIdentifier {
				t.Errorf("Phys(%q) is %d bytes", tc.in, len(got))
			}
		})
	}
	if Phys(long) != Phys(lower) {
		t.Errorf("Phys must not depend on case")
	}
	if got := len(Phys(long)); got != 63 {
		t.Errorf("truncated length = %d, want 63", got)
	}
}

func hexPrefix(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:8]
}

// TestNames covers every row of the table of yellow.md §2 and security.md §2, with the worked
// examples of yellow.md §2.
func TestPlatformNames(t *testing.T) {
	tests := []struct {
		name string
		got  any
		want any
	}{
		// yellow.md §2 worked examples
		{"merge table", MergeTable("Test_DP", "Store1", "people"), Name{"test_dp", "test_dp_store1_people_merge"}},
		{"staging table", StagingTable("Test_DP", "Store1", "people"), Name{"test_dp", "test_dp_store1_people_staging"}},
		{"batch counter", BatchCounter("Test_DP"), Name{"test_dp", "test_dp_batch_counter"}},
		{"live view", LiveView("YellowLive", "Consumer1", "LiveDSG", "Store1", "customers"),
			Name{"yellowlive_consumer1", "yellowlive_consumer1_livedsg_store1_customers_view_live"}},
		{"transformer output table", TransformerTable("YellowLive", "MaskCustomers", "MaskedCustomers", "customers"),
			Name{"yellowlive_dt_maskcustomers", "yellowlive_dt_maskedcustomers_customers"}},
		// the remaining rows
		{"platform schema", PlatformSchema("YellowLive"), "yellowlive"},
		{"CDC load table", CDCLoadTable("D", "S", "T"), Name{"d", "d_s_t_cdcload"}},
		{"batch metrics", BatchMetrics("D"), Name{"d", "d_batch_metrics"}},
		{"transformer runs", TransformerRuns("D"), Name{"d", "d_transformer_runs"}},
		{"CDC rejects", CDCRejects("D"), Name{"d", "d_cdc_rejects"}},
		{"role secrets", RoleSecrets("D"), Name{"d", "d_role_secrets"}},
		{"workspace schema", WorkspaceSchema("YellowLive", "SalesAnalytics"), "yellowlive_salesanalytics"},
		{"full view", FullView("D", "W", "G", "S", "T"), Name{"d_w", "d_w_g_s_t_view_full"}},
		{"transformer schema", TransformerSchema("YellowLive", "CustomerTotals"), "yellowlive_dt_customertotals"},
		{"index", Index("d_s_t_merge", "key_hash"), "d_s_t_merge_key_hash"},
		// security.md §2
		{"owner role", OwnerRole("YellowLive"), "yellowlive_owner"},
		{"reader role", ReaderRole("YellowForensic"), "yellowforensic_reader"},
		{"workspace role", WorkspaceRole("YellowLive", "SalesAnalytics"), "yellowlive_ws_salesanalytics"},
		{"transformer role", TransformerRole("YellowLive", "CustomerTotals"), "yellowlive_dt_customertotals"},
		{"transformer credential", TransformerCredential("YellowLive", "CustomerTotals"), "YELLOWLIVE_DT_CUSTOMERTOTALS"},
		{"name string", MergeTable("D", "S", "T").String(), "d.d_s_t_merge"},
		{"long view name truncated, schema kept",
			LiveView("YellowLive", "Consumer1", "LiveDSG", "AVeryLongDatastoreName", "and_a_long_dataset_name"),
			Name{"yellowlive_consumer1", "yellowlive_consumer1_livedsg_averylongdatastorename_an_" +
				hexPrefix("yellowlive_consumer1_livedsg_averylongdatastorename_and_a_long_dataset_name_view_live")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, tc.got); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestAppend checks that the Append forms write the same names after existing bytes, truncated
// names included.
func TestPlatformNameAppend(t *testing.T) {
	long := strings.Repeat("Long", 15)
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"staging", AppendStagingTable([]byte("x|"), "D", "S", long), "x|" + StagingTable("D", "S", long).Name},
		{"merge", AppendMergeTable([]byte("x|"), "D", "S", "T"), "x|d_s_t_merge"},
		{"cdc load", AppendCDCLoadTable([]byte("x|"), "D", long, long), "x|" + CDCLoadTable("D", long, long).Name},
		{"live view", AppendLiveView([]byte("x|"), "D", "W", "G", long, "T"), "x|" + LiveView("D", "W", "G", long, "T").Name},
		{"full view", AppendFullView([]byte("x|"), "D", "W", "G", "S", "T"), "x|d_w_g_s_t_view_full"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, string(tc.got)); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	if got := StagingTable("D", "S", long).Name; len(got) != 63 || got != Phys("D_S_"+long+"_staging") {
		t.Errorf("truncated staging name %q", got)
	}
}
