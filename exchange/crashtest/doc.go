// Package crashtest holds the exchange's crash test: it builds the yiku
// binary, runs `yiku bench hub` as a separate process on the test's
// PostgreSQL database and Kafka, publishes records over HTTP while killing
// the hub with SIGKILL in the middle of library sink batches, restarts it,
// and checks that the library holds every accepted record exactly once. The
// package has no code of its own; the test is in crash_test.go.
package crashtest
