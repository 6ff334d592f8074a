package main

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	modelv1 "github.com/datasurface/datasurface/proto/gen/datasurface/model/v1"
)

// Plausible values for the simulated producers, generated from a column's model type and
// name: the example's datasets get names, e-mails, amounts and dates that look like its
// domain, and any other model gets values of the right types.

// genValue is one generated value: nil (NULL), bool, int64, decimal (a decimalText), float64,
// civilDate, time.Time (a timestamp), time.Duration, string, []byte, a JSON document
// (jsonDoc) or []any (an array).
type (
	decimalText string
	civilDate   time.Time
	jsonDoc     struct{ v any }
)

var (
	firstNames = []string{"Anna", "Ben", "Chloé", "David", "Eva", "Finn", "Greta", "Hugo", "Ines", "Jonas", "Klara", "Luis", "Mia", "Noah", "Olga", "Paul", "Rosa", "Sven", "Tara", "Yusuf"}
	lastNames  = []string{"Müller", "Schmidt", "Dubois", "Rossi", "García", "Murphy", "Novak", "Jansen", "Kowalski", "Silva", "Berg", "Costa", "Walsh", "Fischer", "Moreau"}
	merchants  = []string{"Corner Café", "City Books", "Fresh Market", "Metro Fuel", "Skyline Air", "Green Grocer", "Tech Depot", "Harbor Hotel"}
	products   = []string{"Desk Lamp", "Water Bottle", "Trail Shoes", "Coffee Grinder", "Rain Jacket", "Notebook", "Headphones", "Backpack", "Tea Kettle", "Yoga Mat"}
	categories = []string{"home", "outdoor", "kitchen", "office", "audio", "sports"}
	statuses   = []string{"placed", "paid", "shipped", "delivered", "cancelled"}
	currencies = []string{"EUR", "USD", "GBP", "CHF"}
	countries  = []string{"DE", "FR", "IE", "NL", "ES", "IT", "US", "CA"}
	cities     = []string{"Berlin", "Paris", "Dublin", "Amsterdam", "Madrid", "Milan", "Boston", "Toronto"}
	reasons    = []string{"damaged", "late delivery", "wrong size", "duplicate charge", "changed mind"}
	words      = []string{"alpha", "bravo", "delta", "echo", "kilo", "lima", "oscar", "sierra", "tango", "zulu"}
)

// keyValue is the value of key column c for key number n (1-based): the same n gives the same
// key on every run.
func keyValue(c *modelv1.Column, n int64) any {
	dt := c.GetType()
	name := strings.ToLower(c.GetName())
	switch dt.GetName() {
	case "TinyInt", "SmallInt", "Integer", "BigInt":
		return n
	case "Decimal":
		return decimalText(strconv.FormatInt(n, 10))
	case "IEEE32", "IEEE64", "IEEE16", "CustomFloat":
		return float64(n)
	case "Date":
		return civilDate(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(n)))
	case "Timestamp":
		return time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Minute)
	case "Boolean":
		return n%2 == 0
	}
	var s string
	switch {
	case strings.Contains(name, "sku"):
		s = fmt.Sprintf("SKU-%05d", n)
	case strings.Contains(name, "country"):
		s = string(rune('A'+(n/26)%26)) + string(rune('A'+n%26))
	case strings.Contains(name, "code"):
		s = fmt.Sprintf("CODE%04d", n)
	default:
		s = fmt.Sprintf("%s-%d", name, n)
	}
	return fitString(dt, s)
}

// genFor is the value of a non-key column for row n, version v.
func genFor(r *rand.Rand, c *modelv1.Column, nullable bool, watermark bool) any {
	if nullable && r.IntN(12) == 0 && !watermark {
		return nil
	}
	return gen(r, strings.ToLower(c.GetName()), c.GetType(), watermark)
}

func gen(r *rand.Rand, name string, dt *modelv1.DataType, now bool) any {
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	switch dt.GetName() {
	case "Boolean":
		return r.IntN(4) != 0
	case "TinyInt":
		return int64(1 + r.IntN(5))
	case "SmallInt":
		if strings.Contains(name, "category") {
			return int64(1000 + r.IntN(9000))
		}
		return int64(1 + r.IntN(99))
	case "Integer":
		return int64(r.IntN(500))
	case "BigInt":
		return int64(1 + r.IntN(300))
	case "Decimal":
		intDigits := int(dt.GetPrecision() - dt.GetScale())
		maxInt := int64(2000)
		if intDigits < 4 {
			maxInt = int64(math.Pow10(intDigits)) - 1
		}
		v := r.Int64N(maxInt*100) + 1
		s := strconv.FormatInt(v/100, 10)
		if sc := int(dt.GetScale()); sc > 0 {
			frac := fmt.Sprintf("%02d", v%100)
			for len(frac) < sc {
				frac += "0"
			}
			s += "." + frac[:sc]
		}
		return decimalText(s)
	case "IEEE16", "IEEE32", "IEEE64", "CustomFloat":
		if strings.Contains(name, "fx") || strings.Contains(name, "rate") {
			return math.Round((0.8+r.Float64()*0.5)*10000) / 10000
		}
		return math.Round(r.Float64()*10000) / 100
	case "Date":
		return civilDate(time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.IntN(2500)))
	case "Timestamp":
		t := time.Now().UTC().Truncate(time.Microsecond)
		if !now && !strings.Contains(name, "updated") {
			t = t.Add(-time.Duration(r.IntN(30*24*60)) * time.Minute)
		}
		return t
	case "Interval":
		return time.Duration(1+r.IntN(72)) * time.Hour
	case "Binary":
		b := make([]byte, 8+r.IntN(24))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return b
	case "Variant":
		return jsonDoc{map[string]any{"channel": pick([]string{"web", "app", "store"}), "items": 1 + r.IntN(5)}}
	case "Map":
		m := map[string]any{}
		for _, k := range []string{"color", "size", "material"}[:1+r.IntN(3)] {
			m[k] = gen(r, k, dt.GetValueType(), false)
		}
		return jsonDoc{jsonValue(m)}
	case "Struct":
		m := map[string]any{}
		for _, f := range dt.GetFields() {
			m[f.GetName()] = gen(r, strings.ToLower(f.GetName()), f.GetType(), false)
		}
		return jsonDoc{jsonValue(m)}
	case "Array":
		el := dt.GetElementType()
		n := 1 + r.IntN(3)
		if isFloat(el.GetName()) && dt.GetMaxSize() >= 16 {
			n = int(dt.GetMaxSize()) // a vector
		} else if dt.MaxSize != nil && int64(n) > dt.GetMaxSize() {
			n = int(dt.GetMaxSize())
		}
		out := make([]any, n)
		for i := range out {
			if isFloat(el.GetName()) {
				out[i] = math.Round((r.Float64()*2-1)*1000) / 1000
			} else {
				out[i] = gen(r, name, el, false)
			}
		}
		return out
	}
	// Character types.
	var s string
	switch {
	case strings.Contains(name, "email"):
		s = strings.ToLower(fmt.Sprintf("%s.%s%d@example.com", pick(firstNames), pick(lastNames[:1]), r.IntN(1000)))
	case strings.Contains(name, "merchant"):
		s = pick(merchants)
	case strings.Contains(name, "name") || strings.Contains(name, "_by"):
		s = pick(firstNames) + " " + pick(lastNames)
	case strings.Contains(name, "title"):
		s = pick(products)
	case strings.Contains(name, "phone"):
		s = fmt.Sprintf("+49 30 %07d", r.IntN(10000000))
	case strings.Contains(name, "status"):
		s = pick(statuses)
	case strings.Contains(name, "currency"):
		s = pick(currencies)
	case strings.Contains(name, "country"):
		s = pick(countries)
	case strings.Contains(name, "city"):
		s = pick(cities)
	case strings.Contains(name, "sku"):
		s = fmt.Sprintf("SKU-%05d", 1+r.IntN(75))
	case strings.Contains(name, "categor"):
		s = pick(categories)
	case strings.Contains(name, "reason"):
		s = pick(reasons)
	case strings.Contains(name, "postal"):
		s = fmt.Sprintf("%05d", r.IntN(100000))
	case strings.Contains(name, "street"):
		s = fmt.Sprintf("%d %s Street", 1+r.IntN(200), pick(words))
	case strings.Contains(name, "tax") || strings.Contains(name, "card") || strings.Contains(name, "number"):
		n := 12
		if dt.MaxSize != nil {
			n = int(dt.GetMaxSize())
		}
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + r.IntN(10))
		}
		s = string(b)
	default:
		s = pick(words) + " " + pick(words)
		if strings.Contains(name, "desc") || strings.Contains(name, "note") {
			s = "The " + pick(words) + " " + pick(words) + " edition, " + pick(categories)
		}
	}
	return fitString(dt, s)
}

func isFloat(n string) bool {
	return n == "IEEE16" || n == "IEEE32" || n == "IEEE64" || n == "CustomFloat"
}

// fitString cuts s to the type's maximum length (Char(n) and VarChar(n)).
func fitString(dt *modelv1.DataType, s string) string {
	if dt.MaxSize == nil || int64(utf8.RuneCountInString(s)) <= dt.GetMaxSize() {
		return s
	}
	return string([]rune(s)[:dt.GetMaxSize()])
}

// jsonValue converts generated values to what encoding/json writes as their natural JSON.
func jsonValue(v any) any {
	switch x := v.(type) {
	case decimalText:
		f, _ := strconv.ParseFloat(string(x), 64)
		return f
	case civilDate:
		return time.Time(x).Format(time.DateOnly)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case time.Duration:
		return x.String()
	case []byte:
		return hex.EncodeToString(x)
	case jsonDoc:
		return x.v
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	}
	return v
}

// pgText renders a value as PostgreSQL's text input for its physical type (cast from text).
func pgText(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case bool:
		return strconv.FormatBool(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case decimalText:
		return string(x), true
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case civilDate:
		return time.Time(x).Format(time.DateOnly), true
	case time.Time:
		return x.Format("2006-01-02 15:04:05.999999"), true
	case time.Duration:
		return strconv.FormatInt(x.Microseconds(), 10) + " microseconds", true
	case string:
		return x, true
	case []byte:
		return `\x` + hex.EncodeToString(x), true
	case jsonDoc:
		b, _ := json.Marshal(x.v)
		return string(b), true
	case []any:
		var b strings.Builder
		b.WriteByte('{')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			s, ok := pgText(e)
			if !ok {
				b.WriteString("NULL")
				continue
			}
			b.WriteByte('"')
			b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s))
			b.WriteByte('"')
		}
		b.WriteByte('}')
		return b.String(), true
	}
	return fmt.Sprint(v), true
}
