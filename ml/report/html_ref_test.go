package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"math"
	"testing"

	"github.com/mlrun/mlrun/errs"
)

// ClassificationReportHTML writes byte for byte the page of the
// html/template it replaced (referenceReportHTML, kept here), for strings
// with every character that template escapes, invalid UTF-8, odd numbers,
// and with and without a confusion matrix.
func TestClassificationReportHTMLIsTheTemplatesPage(t *testing.T) {
	odd := []string{"setosa", "<script>alert('x')</script>", "a & b + \"c\"", "nul\x00byte", "bad \xff\xfe utf-8 >", "é ü 漢字", "", "\uFFFD\uFDD0"}
	reports := []ClassReport{testReport()}
	r := testReport()
	r.Confusion = nil
	reports = append(reports, r)
	r = testReport()
	r.Accuracy, r.Macro.F1, r.Weighted.Precision = math.NaN(), math.Inf(1), math.Inf(-1)
	reports = append(reports, r)
	var classes []ClassRow
	var cm [][]int
	for i, name := range odd {
		classes = append(classes, ClassRow{name, Row{float64(i) / 7, 1 - float64(i)/9, 0.5, i * 3}})
		row := make([]int, len(odd))
		for j := range row {
			row[j] = (i*j + i) % 5
		}
		cm = append(cm, row)
	}
	reports = append(reports, ClassReport{Classes: classes, Accuracy: 0.5, Confusion: cm})
	for i, rep := range reports {
		for _, title := range odd {
			var got, want bytes.Buffer
			if err := ClassificationReportHTML(&got, rep, title); err != nil {
				t.Fatal(err)
			}
			if err := referenceReportHTML(&want, rep, title); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				g, w := got.String(), want.String()
				k := 0
				for k < min(len(g), len(w)) && g[k] == w[k] {
					k++
				}
				t.Errorf("report %d, title %q: the page differs from the template's at byte %d:\n%q\nnot\n%q", i, title, k, g[k:min(len(g), k+80)], w[k:min(len(w), k+80)])
			}
		}
	}
}

func referenceReportHTML(w io.Writer, rep ClassReport, title string) error {
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

	type cell struct {
		Count int
		Style template.CSS
	}
	type confRow struct {
		Name  string
		Cells []cell
	}
	maxCount := 1
	total := 0
	for _, row := range rep.Confusion {
		for _, v := range row {
			maxCount = max(maxCount, v)
			total += v
		}
	}
	pal := newRamp(256)
	var conf []confRow
	for i, row := range rep.Confusion {
		cr := confRow{Name: names[i]}
		for _, v := range row {
			c := pal[int(math.Round(float64(v)/float64(maxCount)*255))]
			r, g, b, _ := c.RGBA()
			fg := "#000"
			if 2*v > maxCount {
				fg = "#fff"
			}
			// Built from numbers only, so it is safe to mark as CSS.
			style := template.CSS(fmt.Sprintf("background:#%02x%02x%02x;color:%s", r>>8, g>>8, b>>8, fg))
			cr.Cells = append(cr.Cells, cell{Count: v, Style: style})
		}
		conf = append(conf, cr)
	}
	support := 0
	for _, c := range rep.Classes {
		support += c.Support
	}
	data := struct {
		Title     string
		Classes   []ClassRow
		Accuracy  float64
		Macro     Row
		Weighted  Row
		Support   int
		Names     []string
		Confusion []confRow
		Total     int
	}{title, rep.Classes, rep.Accuracy, rep.Macro, rep.Weighted, support, names, conf, total}
	if err := referenceTemplate.Execute(w, data); err != nil {
		return fmt.Errorf("write classification report: %w", err)
	}
	return nil
}

// referenceTemplate is parsed once; it is read-only after package init.
var referenceTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"f3": func(v float64) string { return fmt.Sprintf("%.3f", v) },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
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
<h1>{{.Title}}</h1>
<h2>Per-class scores</h2>
<table>
<thead><tr><th>class</th><th>precision</th><th>recall</th><th>f1-score</th><th>support</th></tr></thead>
<tbody>
{{- range .Classes}}
<tr><th scope="row">{{.Name}}</th><td class="num">{{f3 .Precision}}</td><td class="num">{{f3 .Recall}}</td><td class="num">{{f3 .F1}}</td><td class="num">{{.Support}}</td></tr>
{{- end}}
<tr class="avg"><th scope="row">accuracy</th><td></td><td></td><td class="num">{{f3 .Accuracy}}</td><td class="num">{{.Support}}</td></tr>
<tr><th scope="row">macro avg</th><td class="num">{{f3 .Macro.Precision}}</td><td class="num">{{f3 .Macro.Recall}}</td><td class="num">{{f3 .Macro.F1}}</td><td class="num">{{.Macro.Support}}</td></tr>
<tr><th scope="row">weighted avg</th><td class="num">{{f3 .Weighted.Precision}}</td><td class="num">{{f3 .Weighted.Recall}}</td><td class="num">{{f3 .Weighted.F1}}</td><td class="num">{{.Weighted.Support}}</td></tr>
</tbody>
</table>
{{- if .Confusion}}
<h2>Confusion matrix</h2>
<p class="note">Rows are the true classes, columns the predicted classes; {{.Total}} samples.</p>
<table class="cm">
<thead><tr><th class="axis">true \ predicted</th>{{range .Names}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>
{{- range .Confusion}}
<tr><th scope="row">{{.Name}}</th>{{range .Cells}}<td style="{{.Style}}">{{.Count}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
{{- end}}
</body>
</html>
`))
