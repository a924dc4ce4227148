package cli

import "fmt"

// tryIts are the three commands printed at `yiku dev` start. jq is a format
// with one %s for the principal name that expands to its secret.
func tryIts(base, jq string) []string {
	return []string{
		fmt.Sprintf(`curl -s -H "Authorization: Bearer %s" %s/api/v1/me`, fmt.Sprintf(jq, "officer-gsc"), base),
		fmt.Sprintf(`curl -s -H "Authorization: Bearer %s" %s/api/v1/catalog/departments`, fmt.Sprintf(jq, "catalog-admin"), base),
		fmt.Sprintf(`curl -s %s/readyz`, base),
	}
}
