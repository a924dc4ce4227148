package audit

import (
	"sort"
	"strconv"
	"strings"
)

// Reuse events (Action ActionReuse) say in Reason which service item and
// material a lookup supplied from the library, as "item=<code>
// material=<code>"; ReuseReason builds it and ParseReuseReason reads it.
func ReuseReason(item, material string) string {
	return "item=" + item + " material=" + material
}

// ParseReuseReason returns the service item and material of a reuse event.
func ParseReuseReason(reason string) (item, material string) {
	for _, f := range strings.Fields(reason) {
		k, v, _ := strings.Cut(f, "=")
		switch k {
		case "item":
			item = v
		case "material":
			material = v
		}
	}
	return item, material
}

// ActionLookup is the main event of a reuse lookup. Its Reason is
// "item=<code> supplied=N not_available=N not_permitted=N".
const ActionLookup = "lookup"

// lookupRefused says whether a lookup event records a material the sharing
// gate refused: the event is denied only when nothing was supplied, but a
// lookup that was refused one material of several was denied it too.
func lookupRefused(e Event) bool {
	if e.Outcome == Denied {
		return true
	}
	for _, f := range strings.Fields(e.Reason) {
		if k, v, _ := strings.Cut(f, "="); k == "not_permitted" {
			n, err := strconv.Atoi(v)
			return err == nil && n > 0
		}
	}
	return false
}

// Count is one row of a reuse statistic.
type Count struct {
	Key   string `json:"key"`
	Count int    `json:"count"`
}

// ReuseStats are the materials supplied from the library instead of being
// asked of applicants, from the audit trail.
type ReuseStats struct {
	Supplied       int     `json:"supplied"`
	ByServiceItem  []Count `json:"by_service_item"`
	ByDepartment   []Count `json:"by_department"`
	ByResource     []Count `json:"by_resource"`
	ByMonth        []Count `json:"by_month"`
	Lookups        int     `json:"lookups"`
	LookupsDenied  int     `json:"lookups_denied"` // lookups the gate refused at least one material
	MostReusedCert []Count `json:"most_reused_certificates"`
}

// ComputeReuse aggregates reuse and lookup events. certificate reports
// whether a resource holds certificates (e-licences), for the
// most-reused-certificates list.
func ComputeReuse(events []Event, certificate func(resource string) bool) ReuseStats {
	var st ReuseStats
	item, dept, res, month, cert := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	for _, e := range events {
		switch e.Action {
		case ActionLookup:
			st.Lookups++
			if lookupRefused(e) {
				st.LookupsDenied++
			}
		case ActionReuse:
			if e.Outcome != Allowed {
				continue
			}
			st.Supplied++
			it, _ := ParseReuseReason(e.Reason)
			item[it]++
			dept[e.Department]++
			res[e.Resource]++
			month[e.Time.Format("2006-01")]++
			if certificate != nil && certificate(e.Resource) {
				cert[e.Resource]++
			}
		}
	}
	st.ByServiceItem, st.ByDepartment, st.ByResource = ranked(item), ranked(dept), ranked(res)
	st.MostReusedCert = ranked(cert)
	st.ByMonth = ranked(month)
	sort.Slice(st.ByMonth, func(i, j int) bool { return st.ByMonth[i].Key < st.ByMonth[j].Key })
	return st
}

func ranked(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{k, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Key < out[j].Key
	})
	return out
}
