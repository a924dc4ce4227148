package catalog

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// CSVHeader names the export's columns: the core metadata elements of the
// national catalog guide (政务信息资源目录编制指南) in its order, then the
// hub's extension elements.
var CSVHeader = []string{
	"信息资源分类", "信息资源名称", "信息资源代码", "信息资源提供方", "信息资源提供方代码", "信息资源摘要",
	"信息资源格式", "信息项信息", "共享类型", "共享条件", "共享方式", "是否向社会开放", "开放条件",
	"更新周期", "发布日期", "关联资源代码",
	"资源标识", "所属基础库", "主体类型", "主体标识信息项", "不予共享依据", "状态", "最新模式版本", "兼容模式",
}

var formatNames = map[string]string{
	"electronic_file": "电子文件", "spreadsheet": "电子表格", "database": "数据库", "image": "图形图像",
	"streaming": "流媒体", "self_describing": "自描述格式", "service_interface": "服务接口",
}

var shareTypeNames = map[ShareType]string{
	ShareUnconditional: "1 无条件共享", ShareConditional: "2 有条件共享", ShareNone: "3 不予共享",
}

// WriteCSV writes the directory as CSV with CSVHeader. Information items
// are listed as "name 名称 (data type)" separated by "; ".
func WriteCSV(w io.Writer, rs []Resource) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("catalog: export header: %w", err)
	}
	for _, r := range rs {
		items := make([]string, len(r.Fields))
		for i, f := range r.Fields {
			items[i] = fmt.Sprintf("%s %s (%s)", f.Name, f.Title, f.DataType)
		}
		open := "否"
		if r.OpenToPublic {
			open = "是"
		}
		format := r.Format
		if code := FormatCode(r.Format); code != "" {
			format = code + " " + formatNames[r.Format]
		}
		cycle := r.UpdateCycle
		if name := UpdateCycleName(r.UpdateCycle); name != "" {
			cycle = name
		}
		share := string(r.ShareType)
		if name, ok := shareTypeNames[r.ShareType]; ok {
			share = name
		}
		row := []string{
			r.ClassCode, r.Name, r.Code, r.ProviderName, r.ProviderCode, r.Summary,
			format, strings.Join(items, "; "), share, r.ShareConditions, r.ShareMode, open, r.OpenConditions,
			cycle, r.PublishDate, strings.Join(r.RelatedCodes, "; "),
			r.ID, string(r.BaseLibrary), string(r.SubjectType), r.SubjectKey, r.LegalBasis, string(r.Status),
			strconv.Itoa(r.LatestVersion), r.Compatibility,
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("catalog: export %s: %w", r.ID, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("catalog: export: %w", err)
	}
	return nil
}
