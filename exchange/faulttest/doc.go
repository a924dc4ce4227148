// Package faulttest holds the exchange's fault suite (`make test-faults`):
// `yiku bench hub` processes on PostgreSQL and a three-node Kafka cluster
// (deployments/local, YIKU_KAFKA_NODES=3) take HTTP publishes from several
// clients while the test breaks something under them — SIGKILL of the
// Kafka broker that leads a partition of the records topic, PostgreSQL
// stopped, one of three hub instances SIGKILLed, the three restarted in
// turn with SIGTERM — or fills the disk of a `yiku dev` hub (a tmpfs in a
// user and mount namespace of its own), and then checks that every
// acknowledged publish is in the library exactly once, that no client got
// a 500 or waited without an answer, that the hubs recovered without a
// restart and that the audit chain verifies. The tests run only with
// YIKU_TEST_FAULTS=1 and the cluster's environment; docs/faults.md has the
// scenarios and figures. The package has no code of its own; the tests
// are in *_test.go.
package faulttest
