package report

import (
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/mlrun/mlrun/errs"
)

// Row holds precision, recall, F1 and support for one class or one
// average.
type Row struct {
	Precision, Recall, F1 float64
	Support               int
}

// ClassRow is the Row of one named class.
type ClassRow struct {
	Name string
	Row
}

// ClassReport is the input of ClassificationReportHTML: scikit-learn's
// classification_report plus the confusion matrix (Confusion[i][j] =
// samples of class i predicted as class j, classes in Classes order).
type ClassReport struct {
	Classes   []ClassRow
	Accuracy  float64
	Macro     Row
	Weighted  Row
	Confusion [][]int
}

// ClassificationReportHTML writes rep as a self-contained HTML page (inline
// CSS, no scripts): per-class precision, recall, F1 and support, the
// accuracy, macro and weighted average rows, and the confusion matrix as a
// shaded table. Every user string is HTML-escaped.
func ClassificationReportHTML(w io.Writer, rep ClassReport, title string) error {
	names := make([]string, len(rep.Classes))
	for i, c := range rep.Classes {
		names[i] = c.Name
	}
	if len(rep.Classes) == 0 {
		return errs.Errorf(errs.Invalid, "a classification report needs at least one class")
	}
	if len(rep.Confusion) > 0 {
		if err := checkConfusion(rep.Confusion, names); err != nil {
			return err
		}
	}

	maxCount := 1
	total := 0
	for _, row := range rep.Confusion {
		for _, v := range row {
			maxCount = max(maxCount, v)
			total += v
		}
	}
	support := 0
	for _, c := range rep.Classes {
		support += c.Support
	}

	// The page as an html/template of it would write it, escaping every
	// string as that does in these contexts (text, RCDATA and a quoted
	// attribute all escape the same characters); writing it directly
	// spares the parse of a template and its contextual analysis, most of
	// the report's cost in a fresh process.
	b := make([]byte, 0, 4096)
	f3 := func(v float64) { b = appendEscaped(b, fmt.Sprintf("%.3f", v)) } // "+Inf" has a +
	num := func(v float64) { b = append(b, `<td class="num">`...); f3(v); b = append(b, "</td>"...) }
	count := func(v int) { b = strconv.AppendInt(b, int64(v), 10) }
	b = append(b, htmlHead...)
	b = appendEscaped(b, title)
	b = append(b, htmlAfterTitle...)
	b = appendEscaped(b, title)
	b = append(b, htmlScoresTable...)
	for _, c := range rep.Classes {
		b = append(b, "\n<tr><th scope=\"row\">"...)
		b = appendEscaped(b, c.Name)
		b = append(b, "</th>"...)
		num(c.Precision)
		num(c.Recall)
		num(c.F1)
		b = append(b, `<td class="num">`...)
		count(c.Support)
		b = append(b, "</td></tr>"...)
	}
	b = append(b, "\n<tr class=\"avg\"><th scope=\"row\">accuracy</th><td></td><td></td>"...)
	num(rep.Accuracy)
	b = append(b, `<td class="num">`...)
	count(support)
	b = append(b, "</td></tr>"...)
	for _, avg := range []struct {
		name string
		row  Row
	}{{"macro avg", rep.Macro}, {"weighted avg", rep.Weighted}} {
		b = append(b, "\n<tr><th scope=\"row\">"...)
		b = append(b, avg.name...)
		b = append(b, "</th>"...)
		num(avg.row.Precision)
		num(avg.row.Recall)
		num(avg.row.F1)
		b = append(b, `<td class="num">`...)
		count(avg.row.Support)
		b = append(b, "</td></tr>"...)
	}
	b = append(b, "\n</tbody>\n</table>"...)
	if len(rep.Confusion) > 0 {
		pal := newRamp(256)
		b = append(b, "\n<h2>Confusion matrix</h2>\n<p class=\"note\">Rows are the true classes, columns the predicted classes; "...)
		count(total)
		b = append(b, " samples.</p>\n<table class=\"cm\">\n<thead><tr><th class=\"axis\">true \\ predicted</th>"...)
		for _, name := range names {
			b = append(b, "<th>"...)
			b = appendEscaped(b, name)
			b = append(b, "</th>"...)
		}
		b = append(b, "</tr></thead>\n<tbody>"...)
		for i, row := range rep.Confusion {
			b = append(b, "\n<tr><th scope=\"row\">"...)
			b = appendEscaped(b, names[i])
			b = append(b, "</th>"...)
			for _, v := range row {
				c := pal[int(math.Round(float64(v)/float64(maxCount)*255))]
				r, g, bl, _ := c.RGBA()
				fg := "#000"
				if 2*v > maxCount {
					fg = "#fff"
				}
				// Numbers only: nothing to escape.
				b = fmt.Appendf(b, `<td style="background:#%02x%02x%02x;color:%s">`, r>>8, g>>8, bl>>8, fg)
				count(v)
				b = append(b, "</td>"...)
			}
			b = append(b, "</tr>"...)
		}
		b = append(b, "\n</tbody>\n</table>"...)
	}
	b = append(b, "\n</body>\n</html>\n"...)
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write classification report: %w", err)
	}
	return nil
}

// appendEscaped appends s escaped as html/template escapes a string in
// HTML text, RCDATA or a quoted attribute: its replacements of NUL, ", &,
// ', +, < and > (all ASCII, so byte by byte is rune by rune).
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			b = append(b, "\uFFFD"...)
		case '"':
			b = append(b, "&#34;"...)
		case '&':
			b = append(b, "&amp;"...)
		case '\'':
			b = append(b, "&#39;"...)
		case '+':
			b = append(b, "&#43;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// The fixed parts of the page, in order.
const (
	htmlHead = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>`
	htmlAfterTitle = `</title>
<style>
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em;margin-bottom:.2em}
h2{font-size:1.1em;margin-top:1.8em}
table{border-collapse:collapse;margin-top:.5em}
th,td{padding:.35em .9em;border:1px solid #d0d7de}
th{background:#f6f8fa;font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.avg td,tr.avg th{border-top:2px solid #8c959f}
table.cm td{text-align:center;min-width:3em;font-variant-numeric:tabular-nums}
.axis{color:#57606a;font-weight:normal;font-style:italic}
.note{color:#57606a;font-size:.9em}
</style>
</head>
<body>
<h1>`
	htmlScoresTable = `</h1>
<h2>Per-class scores</h2>
<table>
<thead><tr><th>class</th><th>precision</th><th>recall</th><th>f1-score</th><th>support</th></tr></thead>
<tbody>`
)
