package names

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Cron is a parsed five-field cron schedule (spec/model.md §4.11). Each field is a bit set:
// bit n is set when value n matches. Day of week 7 is stored as 0 (both mean Sunday).
// Schedules run in UTC.
type Cron struct {
	Minute, Hour, DayOfMonth, Month, DayOfWeek uint64
	// DayOfMonthStar and DayOfWeekStar record that the field was written as '*' or '*/n'. As in
	// Vixie cron, when both day fields are restricted a day matches if either matches; otherwise
	// both must match.
	DayOfMonthStar, DayOfWeekStar bool
}

type cronField struct {
	name     string
	min, max int
}

var cronFields = [5]cronField{
	{"minute", 0, 59},
	{"hour", 0, 23},
	{"day-of-month", 1, 31},
	{"month", 1, 12},
	{"day-of-week", 0, 7},
}

// ParseCron parses a five-field cron expression: minute 0–59, hour 0–23, day-of-month 1–31,
// month 1–12, day-of-week 0–7 (0 and 7 are Sunday). Each field is '*', a number, a range a-b
// with a ≤ b, a step '*/n' with 1 ≤ n ≤ the field's maximum, or a comma list of numbers and
// ranges. Names, 'a-b/n', '?', 'L', 'W', '#' and six- or four-field forms are rejected. The
// error text is the precise reason, suitable for DS-LINT-066.
func ParseCron(expr string) (Cron, error) {
	fields := strings.Fields(expr)
	if len(fields) != 5 {
		return Cron{}, fmt.Errorf("expected 5 fields (minute hour day-of-month month day-of-week), found %d", len(fields))
	}
	var sets [5]uint64
	var stars [5]bool
	for i, f := range fields {
		set, star, err := parseCronField(f, cronFields[i])
		if err != nil {
			return Cron{}, fmt.Errorf("%s field '%s': %w", cronFields[i].name, f, err)
		}
		sets[i], stars[i] = set, star
	}
	dow := sets[4]
	if dow&(1<<7) != 0 {
		dow = dow&^(1<<7) | 1
	}
	return Cron{
		Minute: sets[0], Hour: sets[1], DayOfMonth: sets[2], Month: sets[3], DayOfWeek: dow,
		DayOfMonthStar: stars[2], DayOfWeekStar: stars[4],
	}, nil
}

func parseCronField(f string, fd cronField) (set uint64, star bool, err error) {
	if f == "*" {
		return rangeBits(fd.min, fd.max, 1), true, nil
	}
	if rest, ok := strings.CutPrefix(f, "*/"); ok {
		n, err := cronNumber(rest)
		if err != nil {
			return 0, false, fmt.Errorf("step: %w", err)
		}
		if n < 1 || n > fd.max {
			return 0, false, fmt.Errorf("step %s must be 1–%d", rest, fd.max)
		}
		return rangeBits(fd.min, fd.max, n), true, nil
	}
	for _, el := range strings.Split(f, ",") {
		if el == "" {
			return 0, false, errors.New("empty list element")
		}
		if el == "*" || strings.HasPrefix(el, "*/") {
			return 0, false, errors.New("'*' must stand alone, not in a list")
		}
		if strings.Contains(el, "/") {
			return 0, false, fmt.Errorf("step '%s' is only allowed as '*/n'", el)
		}
		lo, hi, isRange := strings.Cut(el, "-")
		a, err := cronNumber(lo)
		if err != nil {
			return 0, false, err
		}
		b := a
		if isRange {
			if b, err = cronNumber(hi); err != nil {
				return 0, false, err
			}
		}
		if a < fd.min || a > fd.max {
			return 0, false, fmt.Errorf("%s is out of range %d–%d", lo, fd.min, fd.max)
		}
		if b < fd.min || b > fd.max {
			return 0, false, fmt.Errorf("%s is out of range %d–%d", hi, fd.min, fd.max)
		}
		if a > b {
			return 0, false, fmt.Errorf("range %d-%d must have start ≤ end", a, b)
		}
		set |= rangeBits(a, b, 1)
	}
	return set, false, nil
}

// cronNumber parses a non-negative decimal number; the error says what else the text is.
func cronNumber(s string) (int, error) {
	switch {
	case s == "":
		return 0, errors.New("missing number")
	case s == "?" || s == "L" || s == "W" || strings.ContainsAny(s, "#?"):
		return 0, fmt.Errorf("'%s' is not supported", s)
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			if cronLetter(c) {
				if cronAllLetters(s) {
					return 0, fmt.Errorf("names such as '%s' are not supported; use numbers", s)
				}
				return 0, fmt.Errorf("'%s' is not supported", s)
			}
			return 0, fmt.Errorf("'%s' is not a number", s)
		}
		if n > 1000 {
			continue // out of range of every field already; avoid overflow
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

func cronLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func cronAllLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if !cronLetter(s[i]) {
			return false
		}
	}
	return true
}

func rangeBits(a, b, step int) uint64 {
	var set uint64
	for v := a; v <= b; v += step {
		set |= 1 << v
	}
	return set
}

// Next returns the first time strictly after t (in UTC, truncated to the minute) that c matches,
// and false when c never matches within eight years (e.g. "0 0 30 2 *").
func (c Cron) Next(t time.Time) (time.Time, bool) {
	t = t.UTC().Truncate(time.Minute).Add(time.Minute)
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	for d := 0; d < 8*366; d++ {
		cur := day.AddDate(0, 0, d)
		if !c.matchesDay(cur) {
			continue
		}
		for h := 0; h < 24; h++ {
			if c.Hour&(1<<h) == 0 {
				continue
			}
			for m := 0; m < 60; m++ {
				if c.Minute&(1<<m) == 0 {
					continue
				}
				at := cur.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
				if !at.Before(t) {
					return at, true
				}
			}
		}
	}
	return time.Time{}, false
}

func (c Cron) matchesDay(d time.Time) bool {
	if c.Month&(1<<int(d.Month())) == 0 {
		return false
	}
	dom := c.DayOfMonth&(1<<d.Day()) != 0
	dow := c.DayOfWeek&(1<<int(d.Weekday())) != 0
	if c.DayOfMonthStar || c.DayOfWeekStar {
		return dom && dow
	}
	return dom || dow
}
