package console

import (
	"net/http"
	"time"

	"yiku/audit/auditapi"
	"yiku/identity"
)

// The citizen's "who accessed my data" (and a reviewer answering a
// citizen's request for it): GET /api/v1/my-data-access, with department
// names from the directory.

type myDataPage struct {
	From, To time.Time
	Accesses []auditapi.Access
	Depts    map[string]string
}

func (c *Console) myData(v *visit) {
	var body struct {
		From     time.Time         `json:"from"`
		To       time.Time         `json:"to"`
		Accesses []auditapi.Access `json:"accesses"`
	}
	if err := c.call(v, http.MethodGet, "/api/v1/my-data-access"+q("from", v.r.URL.Query().Get("from"), "to", v.r.URL.Query().Get("to")), nil, &body); err != nil {
		c.fail(v, err)
		return
	}
	depts, err := c.departmentNames(v)
	if err != nil {
		c.fail(v, err)
		return
	}
	// Newest first.
	for i, j := 0, len(body.Accesses)-1; i < j; i, j = i+1, j-1 {
		body.Accesses[i], body.Accesses[j] = body.Accesses[j], body.Accesses[i]
	}
	c.render(v, http.StatusOK, "mydata", "mydata.title", myDataPage{From: body.From, To: body.To, Accesses: body.Accesses, Depts: depts}, nil)
}

// departmentNames reads the department directory: code → name.
func (c *Console) departmentNames(v *visit) (map[string]string, error) {
	var body struct {
		Departments []identity.Department `json:"departments"`
	}
	if err := c.call(v, http.MethodGet, "/api/v1/catalog/departments", nil, &body); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(body.Departments))
	for _, d := range body.Departments {
		out[d.Code] = d.Name
	}
	return out, nil
}
