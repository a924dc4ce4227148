package audit

import (
	"sort"
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

// ActionLookup is the main event of a reuse lookup.
const ActionLookup = "lookup"

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
	LookupsDenied  int     `json:"lookups_denied"`
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
			if e.Outcome == Denied {
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
