package supervision

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"
)

func fmtValue(v float64, ok bool) string {
	if !ok {
		return ""
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func fmtScore(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', 2, 64)
}

func fmtInt(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}

func rankText(r int) string {
	if r == 0 {
		return ""
	}
	return strconv.Itoa(r)
}

// summaryHeader and summaryRow are the ranking's columns, shared by the
// CSV and the workbook's summary sheet.
var summaryHeader = []string{"rank", "department", "name", "score", "previous_rank", "previous_score", "rank_change", "score_change"}

func summaryRow(d DepartmentReport) []string {
	return []string{rankText(d.Rank), d.Code, d.Name, fmtScore(d.Score), rankText(d.PreviousRank), fmtScore(d.PreviousScore), fmtInt(d.RankChange), fmtScore(d.ScoreChange)}
}

// WriteCSV writes one line per department: the ranking's columns, then
// every metric's figure (empty when the department has none).
func WriteCSV(w io.Writer, r Report) error {
	cw := csv.NewWriter(w)
	head := append([]string{"period"}, summaryHeader...)
	for _, m := range Metrics {
		head = append(head, m.Key)
	}
	if err := cw.Write(head); err != nil {
		return fmt.Errorf("supervision: csv: %w", err)
	}
	for _, d := range r.Departments {
		row := append([]string{r.Period}, summaryRow(d)...)
		for _, m := range Metrics {
			row = append(row, fmtValue(m.Value(&d.Figures)))
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("supervision: csv: %w", err)
		}
	}
	cw.Flush()
	return cw.Error()
}

// Sheet names of the workbook.
const (
	SheetSummary     = "summary"
	SheetDefinitions = "definitions"
)

// WriteXLSX writes the workbook: a summary sheet with the ranking, one
// sheet per metric (department, name, value, rank by that metric's order
// in the summary) and a definitions sheet.
func WriteXLSX(w io.Writer, r Report) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", SheetSummary); err != nil {
		return fmt.Errorf("supervision: xlsx: %w", err)
	}
	put := func(sheet string, row int, vals []any) error {
		cell, err := excelize.CoordinatesToCellName(1, row)
		if err != nil {
			return err
		}
		return f.SetSheetRow(sheet, cell, &vals)
	}
	num := func(s string) any {
		if s == "" {
			return ""
		}
		if v, err := strconv.ParseFloat(s, 64); err == nil {
			return v
		}
		return s
	}
	if err := put(SheetSummary, 1, []any{"信息共享考核通报 " + r.Period, "as of " + r.AsOf.Format("2006-01-02 15:04 MST")}); err != nil {
		return fmt.Errorf("supervision: xlsx: %w", err)
	}
	head := make([]any, len(summaryHeader))
	for i, h := range summaryHeader {
		head[i] = h
	}
	if err := put(SheetSummary, 2, head); err != nil {
		return fmt.Errorf("supervision: xlsx: %w", err)
	}
	for i, d := range r.Departments {
		row := summaryRow(d)
		vals := []any{num(row[0]), row[1], row[2], num(row[3]), num(row[4]), num(row[5]), num(row[6]), num(row[7])}
		if err := put(SheetSummary, i+3, vals); err != nil {
			return fmt.Errorf("supervision: xlsx: %w", err)
		}
	}
	for _, m := range Metrics {
		if _, err := f.NewSheet(m.Key); err != nil {
			return fmt.Errorf("supervision: xlsx: %w", err)
		}
		if err := put(m.Key, 1, []any{"department", "name", m.Key}); err != nil {
			return fmt.Errorf("supervision: xlsx: %w", err)
		}
		for i, d := range r.Departments {
			v, ok := m.Value(&d.Figures)
			var cell any = ""
			if ok {
				cell = v
			}
			if err := put(m.Key, i+2, []any{d.Code, d.Name, cell}); err != nil {
				return fmt.Errorf("supervision: xlsx: %w", err)
			}
		}
	}
	if _, err := f.NewSheet(SheetDefinitions); err != nil {
		return fmt.Errorf("supervision: xlsx: %w", err)
	}
	if err := put(SheetDefinitions, 1, []any{"key", "group", "name", "weight", "definition"}); err != nil {
		return fmt.Errorf("supervision: xlsx: %w", err)
	}
	for i, m := range Metrics {
		var w any = ""
		if m.score != nil {
			w = r.Weights[m.Key]
		}
		if err := put(SheetDefinitions, i+2, []any{m.Key, m.Group, m.Name, w, m.Definition}); err != nil {
			return fmt.Errorf("supervision: xlsx: %w", err)
		}
	}
	if _, err := f.WriteTo(w); err != nil {
		return fmt.Errorf("supervision: xlsx: %w", err)
	}
	return nil
}
