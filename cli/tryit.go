package cli

import (
	"fmt"

	"yiku/demo"
	"yiku/hub"
)

// kcatTry is the printed kcat command: it lists the embedded broker's
// topics, logging in with the Kafka credential of credentials.json
// (anonymous connections are refused).
func kcatTry(k *hub.KafkaLogin, credPath string) string {
	return fmt.Sprintf(`kcat -b %s -X security.protocol=%s -X sasl.mechanisms=%s -X sasl.username=%s -X sasl.password="$(jq -r '.[] | select(.kind=="%s") | .secret' %s)" -L`,
		k.Brokers[0], k.Protocol, k.Mechanism, k.Username, demo.KindKafkaSASL, credPath)
}

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
