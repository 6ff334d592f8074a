package names

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseCronErrors(t *testing.T) {
	tests := []struct {
		name string
		expr string
		want string // "" = valid
	}{
		{"every minute", "* * * * *", ""},
		{"every ten minutes", "*/10 * * * *", ""},
		{"lists and ranges", "0,15,30-45 8-17 1,15 1-12 1-5", ""},
		{"sunday as 7", "0 0 * * 7", ""},
		{"leading zero", "05 09 * * *", ""},
		{"extra white space", "  0\t0  * * *  ", ""},
		{"step max", "*/59 */23 */31 */12 */7", ""},
		{"empty", "", "expected 5 fields (minute hour day-of-month month day-of-week), found 0"},
		{"four fields", "* * * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 4"},
		{"six fields", "0 * * * * *", "expected 5 fields (minute hour day-of-month month day-of-week), found 6"},
		{"minute out of range", "60 * * * *", "minute field '60': 60 is out of range 0–59"},
		{"hour out of range", "0 24 * * *", "hour field '24': 24 is out of range 0–23"},
		{"day zero", "0 0 0 * *", "day-of-month field '0': 0 is out of range 1–31"},
		{"month 13", "0 0 1 13 *", "month field '13': 13 is out of range 1–12"},
		{"dow 8", "0 0 * * 8", "day-of-week field '8': 8 is out of range 0–7"},
		{"range end out of range", "0 0 * * 1-8", "day-of-week field '1-8': 8 is out of range 0–7"},
		{"reversed range", "0 17-8 * * *", "hour field '17-8': range 17-8 must have start ≤ end"},
		{"step zero", "*/0 * * * *", "minute field '*/0': step 0 must be 1–59"},
		{"step too big", "0 */24 * * *", "hour field '*/24': step 24 must be 1–23"},
		{"step not a number", "*/x5 * * * *", "minute field '*/x5': step: 'x5' is not supported"},
		{"range step", "0-30/5 * * * *", "minute field '0-30/5': step '0-30/5' is only allowed as '*/n'"},
		{"number step", "5/15 * * * *", "minute field '5/15': step '5/15' is only allowed as '*/n'"},
		{"empty list element", "1,,2 * * * *", "minute field '1,,2': empty list element"},
		{"trailing comma", "0 1, * * *", "hour field '1,': empty list element"},
		{"star in list", "*,5 * * * *", "minute field '*,5': '*' must stand alone, not in a list"},
		{"day name", "0 0 * * MON", "day-of-week field 'MON': names such as 'MON' are not supported; use numbers"},
		{"month name", "0 0 1 JAN *", "month field 'JAN': names such as 'JAN' are not supported; use numbers"},
		{"question mark", "0 0 ? * 1", "day-of-month field '?': '?' is not supported"},
		{"last day", "0 0 L * *", "day-of-month field 'L': 'L' is not supported"},
		{"weekday", "0 0 15W * *", "day-of-month field '15W': '15W' is not supported"},
		{"nth weekday", "0 0 * * 1#2", "day-of-week field '1#2': '1#2' is not supported"},
		{"open range", "0 0 * * 1-", "day-of-week field '1-': missing number"},
		{"negative", "-5 * * * *", "minute field '-5': missing number"},
		{"double range", "1-2-3 * * * *", "minute field '1-2-3': '2-3' is not a number"},
		{"symbol", "@ * * * *", "minute field '@': '@' is not a number"},
		{"macro", "@daily", "expected 5 fields (minute hour day-of-month month day-of-week), found 1"},
		{"huge number", "99999999999999999999 * * * *", "minute field '99999999999999999999': 99999999999999999999 is out of range 0–59"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCron(tt.expr)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseCron(%q) (-want +got):\n%s", tt.expr, diff)
			}
		})
	}
}

func TestCronNext(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name   string
		expr   string
		after  string
		want   string
		wantOK bool
	}{
		{"next minute", "* * * * *", "2025-01-01 10:00", "2025-01-01 10:01", true},
		{"every ten", "*/10 * * * *", "2025-01-01 10:05", "2025-01-01 10:10", true},
		{"strictly after", "*/10 * * * *", "2025-01-01 10:10", "2025-01-01 10:20", true},
		{"next day", "30 2 * * *", "2025-01-01 03:00", "2025-01-02 02:30", true},
		{"sunday as 7", "0 0 * * 7", "2025-01-01 00:00", "2025-01-05 00:00", true},
		{"sunday as 0", "0 0 * * 0", "2025-01-01 00:00", "2025-01-05 00:00", true},
		{"dom or dow", "0 0 10 * 1", "2025-01-01 00:00", "2025-01-06 00:00", true},
		{"dom and star dow", "0 0 10 * *", "2025-01-01 00:00", "2025-01-10 00:00", true},
		{"leap day", "0 0 29 2 *", "2025-01-01 00:00", "2028-02-29 00:00", true},
		{"never", "0 0 30 2 *", "2025-01-01 00:00", "0001-01-01 00:00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCron(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := c.Next(at(tt.after))
			if ok != tt.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(at(tt.want), got); diff != "" {
				t.Errorf("Next (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"* * * * *", "*/5 1-3 1,15 * 0", "60 * * * *", "1-2-3 * * * MON", "*/99999999999 * * * *"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		c, err := ParseCron(expr)
		if err != nil {
			return
		}
		if c.Minute == 0 || c.Hour == 0 || c.DayOfMonth == 0 || c.Month == 0 || c.DayOfWeek == 0 {
			t.Fatalf("ParseCron(%q) accepted an empty field: %+v", expr, c)
		}
	})
}
