package gate

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/datasurface/datasurface/model/problem"
)

// FormatProblem renders one problem as a line of the text format (spec/governance.md §3.3):
// `[base:]<file>:<line>:<column>: <SEVERITY> <rule id> <rule name>: <message>`, without the
// location part when the problem has no node.
func FormatProblem(p problem.Problem) string {
	var b strings.Builder
	if !p.Pos.IsZero() {
		b.WriteString(p.Pos.String())
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "%s %s %s: %s", p.Severity, p.Rule.ID, p.Rule.Name, p.Message)
	return b.String()
}

// CountsText renders the problem counts as in "1 error, 2 warnings, 0 info".
func CountsText(ps []problem.Problem) string {
	e, w, i := problem.Count(ps)
	return fmt.Sprintf("%d %s, %d %s, %d info", e, plural(e, "error"), w, plural(w, "warning"), i)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// ResultText returns PASS or FAIL.
func ResultText(passed bool) string {
	if passed {
		return "PASS"
	}
	return "FAIL"
}

// SummaryLine is the last line of the text format:
// `validate: FAIL — 1 error, 1 warning, 0 info (base sha256:…, head sha256:…, source …)`.
func (r *Report) SummaryLine() string {
	base := "none"
	if r.Base != nil {
		base = r.Base.Digest
	}
	return fmt.Sprintf("validate: %s — %s (base %s, head %s, source %s)",
		ResultText(r.Passed), CountsText(r.Problems), base, r.Head.Digest, r.Source)
}

// WriteText writes the report in the text format: one line per problem, sorted, then the
// summary line.
func WriteText(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	WriteProblems(bw, r.Problems)
	fmt.Fprintln(bw, r.SummaryLine())
	return bw.Flush()
}

// WriteProblems writes one FormatProblem line per problem, in the given order.
func WriteProblems(w io.Writer, ps []problem.Problem) {
	for _, p := range ps {
		fmt.Fprintln(w, FormatProblem(p))
	}
}

// WriteGitHub writes the report as GitHub Actions workflow commands (spec/governance.md §3.5):
// one `::error`, `::warning` or `::notice` per problem, then the text summary line. Problems
// located in the base, or not located, carry no file property; a base location is kept at the
// start of the message.
func WriteGitHub(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	for _, p := range r.Problems {
		cmd := "notice"
		switch p.Severity {
		case problem.Error:
			cmd = "error"
		case problem.Warning:
			cmd = "warning"
		}
		var props []string
		msg := p.Message
		switch {
		case p.Pos.IsZero():
		case p.Pos.Side == problem.Base:
			msg = p.Pos.String() + ": " + msg
		default:
			props = append(props,
				"file="+escapeProperty(p.Pos.File),
				fmt.Sprintf("line=%d", p.Pos.Line),
				fmt.Sprintf("col=%d", p.Pos.Column))
		}
		props = append(props, "title="+escapeProperty(p.Rule.ID+" "+p.Rule.Name))
		fmt.Fprintf(bw, "::%s %s::%s\n", cmd, strings.Join(props, ","), escapeData(msg))
	}
	fmt.Fprintln(bw, r.SummaryLine())
	return bw.Flush()
}

var (
	dataEscaper     = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	propertyEscaper = strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
)

// escapeData escapes a workflow command's message.
func escapeData(s string) string { return dataEscaper.Replace(s) }

// escapeProperty escapes a workflow command's property value.
func escapeProperty(s string) string { return propertyEscaper.Replace(s) }

// WriteStepSummary writes the Markdown job summary of the report (for GITHUB_STEP_SUMMARY): a
// heading with the result, the summary line and a table of the problems.
func WriteStepSummary(w io.Writer, r *Report) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "### datasurface validate: %s\n\n", ResultText(r.Passed))
	fmt.Fprintf(bw, "%s\n\n", markdownCell(r.SummaryLine()))
	if len(r.Problems) == 0 {
		fmt.Fprintln(bw, "No problems found.")
		fmt.Fprintln(bw)
		return bw.Flush()
	}
	fmt.Fprintln(bw, "| Severity | Rule | Location | Message |")
	fmt.Fprintln(bw, "|---|---|---|---|")
	for _, p := range r.Problems {
		loc := ""
		if !p.Pos.IsZero() {
			loc = "`" + strings.ReplaceAll(p.Pos.String(), "`", "'") + "`"
		}
		fmt.Fprintf(bw, "| %s | %s | %s | %s |\n", p.Severity, markdownCell(p.Rule.ID+" "+p.Rule.Name),
			markdownCell(loc), markdownCell(p.Message))
	}
	fmt.Fprintln(bw)
	return bw.Flush()
}

var markdownEscaper = strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ", "<", "&lt;", ">", "&gt;")

// markdownCell makes s safe inside one cell of a Markdown table.
func markdownCell(s string) string { return markdownEscaper.Replace(s) }
