package console

import (
	"net/http"
	"net/url"

	"yiku/exchange/exchangeapi"
	"yiku/exchange/ingress"
)

// The department's exchange status: the library's and the Kafka ingress's
// lag, and the ingress's dead letters with their reasons, each replayable.
// GET /api/v1/exchange/status, GET /api/v1/dead-letters and
// POST /api/v1/dead-letters/{id}/replay; the exchange decides what a
// department may see and replay.

type exchangePage struct {
	Status      exchangeapi.Status
	DeadLetters []ingress.DeadLetter
	ShowDead    bool
	Done        string
}

func (c *Console) exchange(v *visit) {
	c.showExchange(v, http.StatusOK, c.doneOf(v), nil)
}

func (c *Console) showExchange(v *visit, status int, done string, errs map[string]string) {
	var page exchangePage
	if err := c.call(v, http.MethodGet, "/api/v1/exchange/status", nil, &page.Status); err != nil {
		c.fail(v, err)
		return
	}
	// Dead letters are the department's own: for its systems and admins.
	if v.Principal.Role == "department_admin" || v.Principal.Role == "department_system" {
		var body struct {
			DeadLetters []ingress.DeadLetter `json:"dead_letters"`
		}
		if err := c.call(v, http.MethodGet, "/api/v1/dead-letters?limit=100", nil, &body); err != nil {
			c.fail(v, err)
			return
		}
		page.DeadLetters, page.ShowDead = body.DeadLetters, true
	}
	page.Done = done
	c.render(v, status, "exchange", "exchange.title", page, errs)
}

func (c *Console) replay(v *visit) {
	errs := map[string]string{}
	err := c.call(v, http.MethodPost, "/api/v1/dead-letters/"+url.PathEscape(v.r.PathValue("id"))+"/replay", nil, nil)
	if c.formFailed(v, err, errs) {
		c.showExchange(v, http.StatusUnprocessableEntity, "", errs)
		return
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	c.seeOther(v, "/console/exchange", "exchange.done.replayed")
}
