// Package faulttest holds the exchange's fault suite (`make test-faults`):
// a `yiku bench hub` process on PostgreSQL and a three-node Kafka cluster
// (deployments/local, YIKU_KAFKA_NODES=3) takes HTTP publishes from
// several clients while the test breaks a service under it — SIGKILL of
// the Kafka broker that leads a partition of the records topic, restarted
// 10 s later — and then checks that every acknowledged publish is in the
// library exactly once, that no client got a 500 or waited without an
// answer, that the hub recovered without a restart and that the audit
// chain verifies. The tests run only with YIKU_TEST_FAULTS=1 and the
// cluster's environment; docs/faults.md has the scenarios and figures.
// The package has no code of its own; the tests are in *_test.go.
package faulttest
