// Package examples holds the worked example of docs/adapters.md: the
// adapter configs (civil-affairs.yaml, market-regulation.yaml,
// service-centre.yaml) and builders of the legacy systems they connect —
// the civil affairs bureau's marriage registration table, the market
// regulation bureau's nightly e-licence export and the government service
// centre's licence table. `yiku dev` writes these into its data folder; the
// tests use them too. The data are synthetic: every ID number is generated,
// none belongs to a real person.
package examples

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"yiku/schemas"
)

// CivilTableDDL is the civil affairs bureau's legacy table, in the column
// names its 2009 vendor system used (pinyin initials).
const CivilTableDDL = `CREATE TABLE IF NOT EXISTS HY_DJXX (
  ID     INTEGER PRIMARY KEY AUTOINCREMENT, -- row id
  DJZH   TEXT NOT NULL,  -- 登记证字号
  DJLX   TEXT NOT NULL,  -- 登记类型 1 结婚 2 离婚
  NF_SFZH TEXT,          -- 男方身份证号 (15 or 18 digits, x in either case)
  NF_XM  TEXT,           -- 男方姓名
  NV_SFZH TEXT,          -- 女方身份证号
  NV_XM  TEXT,           -- 女方姓名
  DJRQ   TEXT,           -- 登记日期 (20180625, 2018/6/25, 2018-06-25 …)
  DJJG   TEXT,           -- 登记机关
  GXSJ   DATETIME,       -- 最后修改时间
  SCBZ   INTEGER NOT NULL DEFAULT 0 -- 删除标志
)`

// ServiceCentreTableDDL is the government service centre's own table of
// business licences it has received.
const ServiceCentreTableDDL = `CREATE TABLE IF NOT EXISTS received_licences (
  licence_id   TEXT PRIMARY KEY,
  holder_id    TEXT NOT NULL,
  holder_name  TEXT NOT NULL,
  licence_name TEXT,
  issue_date   TEXT,
  status       TEXT,
  received_at  TEXT
)`

var surnames = []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "曾", "彭", "谢", "邓"}
var given = []string{"伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超", "秀英", "桂兰", "建华"}

func name(i int) string { return surnames[i%len(surnames)] + given[(i/len(surnames))%len(given)] }

// ResidentID returns a valid synthetic 18-digit ID number, unique per
// (i, sex) for i below 50,000: born in Louxing (431302) between 1950 and
// 1977, sequence odd for men and even for women.
func ResidentID(i int, male bool) string {
	birth := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%10000)
	seq := 2 * (i / 10000)
	if male {
		seq++
	}
	body := fmt.Sprintf("431302%s%03d", birth.Format("20060102"), seq)
	c, err := schemas.ResidentIDCheckChar(body)
	if err != nil {
		panic(err) // the body is built from digits only
	}
	return body + string(c)
}

// legacyID writes an ID the way the old system holds it: some as 15-digit
// numbers (issued before 1999), some with a lower-case x.
func legacyID(id string, i int) string {
	switch {
	case i%7 == 0:
		return id[:6] + id[8:17] // 15-digit form: drop "19" and the check char
	case id[17] == 'X' && i%2 == 0:
		return id[:17] + "x"
	}
	return id
}

// legacyDate writes a date in one of the shapes found in the old table.
func legacyDate(t time.Time, i int) string {
	switch i % 4 {
	case 0:
		return t.Format("20060102")
	case 1:
		return fmt.Sprintf("%d/%d/%d", t.Year(), t.Month(), t.Day())
	case 2:
		return t.Format("2006-01-02")
	}
	return fmt.Sprintf("%d年%d月%d日", t.Year(), t.Month(), t.Day())
}

// MarriageRow is row i of the legacy table; malformed rows carry a date
// that does not exist.
func MarriageRow(i int, malformed bool) map[string]any {
	date := time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%6500)
	typ := "1"
	prefix := "J"
	if i%9 == 4 {
		typ, prefix = "2", "L"
	}
	row := map[string]any{
		"DJZH":    fmt.Sprintf("%s431302-%04d-%06d", prefix, date.Year(), i+1),
		"DJLX":    typ,
		"NF_SFZH": legacyID(ResidentID(i, true), i),
		"NF_XM":   name(i),
		"NV_SFZH": legacyID(ResidentID(i, false), i+3),
		"NV_XM":   name(i + 7),
		"DJRQ":    legacyDate(date, i),
		"DJJG":    "娄星区民政局婚姻登记处",
		"GXSJ":    time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second),
	}
	if malformed {
		row["DJRQ"] = fmt.Sprintf("%d/2/30", date.Year())
	}
	return row
}

// WriteCivilAffairsDB creates (or extends) the legacy SQLite database at
// path with rows marriage registrations; every malformedEvery-th row
// (0 = none) has an impossible date.
func WriteCivilAffairsDB(ctx context.Context, path string, rows, malformedEvery int) error {
	db, err := openSQLite(path)
	if err != nil {
		return err
	}
	defer closeSQLite(db)
	if err := db.WithContext(ctx).Exec(CivilTableDDL).Error; err != nil {
		return fmt.Errorf("examples: civil affairs table: %w", err)
	}
	var have int64
	if err := db.WithContext(ctx).Table("HY_DJXX").Count(&have).Error; err != nil {
		return fmt.Errorf("examples: civil affairs table: %w", err)
	}
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		batch := make([]map[string]any, 0, 500)
		for i := int(have); i < rows; i++ {
			batch = append(batch, MarriageRow(i, malformedEvery > 0 && i%malformedEvery == malformedEvery-1))
			if len(batch) == cap(batch) || i == rows-1 {
				if err := tx.Table("HY_DJXX").Create(&batch).Error; err != nil {
					return fmt.Errorf("examples: civil affairs rows: %w", err)
				}
				batch = batch[:0]
			}
		}
		return nil
	})
}

// WriteServiceCentreDB creates the service centre's (empty) licence table.
func WriteServiceCentreDB(ctx context.Context, path string) error {
	db, err := openSQLite(path)
	if err != nil {
		return err
	}
	defer closeSQLite(db)
	if err := db.WithContext(ctx).Exec(ServiceCentreTableDDL).Error; err != nil {
		return fmt.Errorf("examples: service centre table: %w", err)
	}
	return nil
}

// USCC returns a valid synthetic unified social credit code of a Louxing
// enterprise.
func USCC(i int) string {
	body := fmt.Sprintf("91431302MA4%06d", i%1000000)
	c, err := schemas.USCCCheckChar(body)
	if err != nil {
		panic(err)
	}
	return body + string(c)
}

// AMRCode is the market regulation bureau's credit code, the issuer of
// business licences in the example.
var AMRCode = USCC(999999)

// LicenceTypeCode is the business licence type code of the example (the
// national code of 营业执照 in the GB/T 36904 form: agency USCC + 3 digits).
const LicenceTypeCode = "11100000000013338W011"

// Licence is the i-th business licence e-licence record, as the market
// regulation bureau's export holds it (already in the catalog's shape).
func Licence(i int) map[string]any {
	id, err := schemas.BuildElicenceID(LicenceTypeCode, AMRCode, fmt.Sprintf("2024%07d", i+1), "001")
	if err != nil {
		panic(err)
	}
	return map[string]any{
		"licence_id":        id,
		"licence_type_code": LicenceTypeCode,
		"licence_name":      "营业执照",
		"holder_id_type":    "uscc",
		"holder_id":         USCC(i),
		"holder_name":       fmt.Sprintf("娄底市娄星区%s商贸有限公司", name(i)),
		"issuer_code":       AMRCode,
		"issuer_name":       "娄底市娄星区市场监督管理局",
		"issue_date":        time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%300).Format("2006-01-02"),
		"status":            "valid",
	}
}

// WriteLicenceExport drops an NDJSON export of n licences into dir the way
// the bureau's nightly job does: under a .part name, renamed when complete.
func WriteLicenceExport(dir, name string, from, n int) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("examples: %w", err)
	}
	part := filepath.Join(dir, name+".part")
	f, err := os.Create(part)
	if err != nil {
		return fmt.Errorf("examples: %w", err)
	}
	enc := json.NewEncoder(f)
	enc.SetEscapeHTML(false)
	for i := from; i < from+n; i++ {
		if err := enc.Encode(Licence(i)); err != nil {
			f.Close()
			return fmt.Errorf("examples: %w", err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("examples: %w", err)
	}
	return os.Rename(part, filepath.Join(dir, name))
}

func openSQLite(path string) (*gorm.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("examples: %w", err)
	}
	db, err := gorm.Open(sqlite.Open(path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"), &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true})
	if err != nil {
		return nil, fmt.Errorf("examples: open %s: %w", path, err)
	}
	return db, nil
}

func closeSQLite(db *gorm.DB) {
	if s, err := db.DB(); err == nil {
		_ = s.Close()
	}
}

// DevSeeder writes the worked example's legacy systems into dataDir/legacy
// for `yiku dev`: the civil affairs table (300 registrations, every 40th
// with an impossible date), the market regulation bureau's first nightly
// export (50 business licences) and the service centre's empty table. It
// leaves what is already there alone, so restarts change nothing.
func DevSeeder(dataDir string) func(context.Context) error {
	return func(ctx context.Context) error {
		dir := filepath.Join(dataDir, "legacy")
		if err := WriteCivilAffairsDB(ctx, filepath.Join(dir, "civil-affairs.db"), 300, 40); err != nil {
			return err
		}
		if err := WriteServiceCentreDB(ctx, filepath.Join(dir, "service-centre.db")); err != nil {
			return err
		}
		export := filepath.Join(dir, "amr-export")
		const first = "licences-20240601.ndjson"
		for _, p := range []string{filepath.Join(export, first), filepath.Join(export, "processed", first)} {
			if _, err := os.Stat(p); err == nil {
				return nil
			}
		}
		return WriteLicenceExport(export, first, 0, 50)
	}
}
