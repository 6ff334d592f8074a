package names

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// specReserved is the reserved-word paragraph of spec/model.md §2.1, verbatim.
const specReserved = `SELECT FROM WHERE AND OR NOT INSERT UPDATE DELETE
CREATE ALTER DROP TABLE DATABASE INDEX VIEW TRIGGER PROCEDURE FUNCTION JOIN INNER LEFT RIGHT FULL ON
GROUP BY ORDER HAVING UNION EXCEPT INTERSECT CASE WHEN THEN ELSE END AS DISTINCT NULL IS BETWEEN LIKE
IN EXISTS ALL ANY SOME CAST CONVERT COALESCE COUNT SUM AVG MIN MAX TOP LIMIT FETCH OFFSET ROW ROWS
ONLY FIRST NEXT VALUE VALUES INTO SET OUTPUT DECLARE CURSOR FOR WHILE LOOP REPEAT IF ELSEIF BEGIN
COMMIT ROLLBACK SAVEPOINT TRANSACTION TRY CATCH THROW USE USING COLLATE PLAN EXECUTE PREPARE
DEALLOCATE ASC DESC`

func TestReservedWordsMatchSpec(t *testing.T) {
	want := strings.Fields(specReserved)
	if diff := cmp.Diff(want, ReservedWords()); diff != "" {
		t.Errorf("ReservedWords() mismatch (-want +got):\n%s", diff)
	}
	for _, w := range want {
		for _, s := range []string{w, strings.ToLower(w), strings.ToUpper(w[:1]) + strings.ToLower(w[1:])} {
			if !IsReserved(s) {
				t.Errorf("IsReserved(%q) = false, want true", s)
			}
		}
	}
}

func TestSQLIdentifier(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want SQLIdentifierStatus
	}{
		{"simple", "orders", SQLIdentifierValid},
		{"mixed case digits underscore", "Order_Lines2", SQLIdentifierValid},
		{"single letter", "x", SQLIdentifierValid},
		{"128 chars", "a" + strings.Repeat("b", 127), SQLIdentifierValid},
		{"129 chars", "a" + strings.Repeat("b", 128), SQLIdentifierInvalid},
		{"empty", "", SQLIdentifierInvalid},
		{"leading digit", "1orders", SQLIdentifierInvalid},
		{"leading underscore", "_orders", SQLIdentifierInvalid},
		{"hyphen", "order-lines", SQLIdentifierInvalid},
		{"space", "order lines", SQLIdentifierInvalid},
		{"dot", "s.orders", SQLIdentifierInvalid},
		{"non-ASCII letter", "café", SQLIdentifierInvalid},
		{"reserved upper", "SELECT", SQLIdentifierReserved},
		{"reserved lower", "order", SQLIdentifierReserved},
		{"reserved mixed", "Transaction", SQLIdentifierReserved},
		{"reserved two letters", "as", SQLIdentifierReserved},
		{"reserved prefix is fine", "orders", SQLIdentifierValid},
		{"reserved with suffix is fine", "select_x", SQLIdentifierValid},
		{"not reserved long", "transactions", SQLIdentifierValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SQLIdentifier(tt.in); got != tt.want {
				t.Errorf("SQLIdentifier(%q) = %v, want %v", tt.in, got, tt.want)
			}
			if got, want := IsSQLIdentifier(tt.in), tt.want == SQLIdentifierValid; got != want {
				t.Errorf("IsSQLIdentifier(%q) = %v, want %v", tt.in, got, want)
			}
		})
	}
}

func TestIsDisplayName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"simple", "Europe", true},
		{"inner spaces", "North America", true},
		{"unicode", "Zürich Süd ☁", true},
		{"128 runes", strings.Repeat("é", 128), true},
		{"129 runes", strings.Repeat("é", 129), false},
		{"empty", "", false},
		{"slash", "EU/West", false},
		{"colon", "Acme:EU", false},
		{"leading space", " Europe", false},
		{"trailing space", "Europe ", false},
		{"trailing no-break space", "Europe\u00a0", false},
		{"tab inside", "Eu\trope", false},
		{"newline", "Europe\n", false},
		{"NUL", "Eu\x00rope", false},
		{"invalid UTF-8", "Eu\xffrope", false},
		{"encoded U+FFFD is fine", "Eu\uFFFDrope", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsDisplayName(tt.in); got != tt.want {
				t.Errorf("IsDisplayName(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsCredentialName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"upper", "SALES_PG", true},
		{"leading underscore", "_SECRET", true},
		{"lower digits", "pg2", true},
		{"128 chars", strings.Repeat("A", 128), true},
		{"129 chars", strings.Repeat("A", 129), false},
		{"empty", "", false},
		{"leading digit", "2PG", false},
		{"hyphen", "SALES-PG", false},
		{"dot", "SALES.PG", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsCredentialName(tt.in); got != tt.want {
				t.Errorf("IsCredentialName(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsPrincipal(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"role", "bi_reader", true},
		{"any printable", "Bi Reader-1.x", true},
		{"unicode", "lecteur_données", true},
		{"63 bytes", strings.Repeat("r", 63), true},
		{"64 bytes", strings.Repeat("r", 64), false},
		{"63 bytes of 2-byte runes exceed", strings.Repeat("é", 32), false},
		{"empty", "", false},
		{"NUL", "bi\x00reader", false},
		{"control", "bi\x1breader", false},
		{"invalid UTF-8", "bi\xc3reader", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsPrincipal(tt.in); got != tt.want {
				t.Errorf("IsPrincipal(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func BenchmarkSQLIdentifier(b *testing.B) {
	ids := []string{"customer_id", "Order", "placed_at", "SELECTED", "amount"}
	for b.Loop() {
		for _, s := range ids {
			SQLIdentifier(s)
		}
	}
}
