package cli

import "fmt"

// tryIts are the three commands printed at `yiku dev` start. jq is a format
// with one %s for the principal name that expands to its secret.
func tryIts(base, jq string) []string {
	return []string{
		fmt.Sprintf(`curl -s -H "Authorization: Bearer %s" %s/api/v1/me`, fmt.Sprintf(jq, "officer-gsc"), base),
		fmt.Sprintf(`curl -s -H "Authorization: Bearer %s" %s/api/v1/catalog/departments`, fmt.Sprintf(jq, "catalog-admin"), base),
		// A reuse lookup: the demo citizen's identity and insurance records
		// are supplied from the library, the photo must be brought.
		fmt.Sprintf(`curl -s -H "Authorization: Bearer %s" -H 'Content-Type: application/json' -d '{"applicant":"431302198506159913","service_item":"social-security-card","case_number":"LX-DEMO-0001","purpose":"社会保障卡申领"}' %s/api/v1/lookups`, fmt.Sprintf(jq, "officer-gsc"), base),
	}
}
