package auditapi

// HoldRuns makes the runs v starts wait before verifying until the
// returned function is called, so a test sees a run in progress.
func HoldRuns(v *Verifier) (release func()) {
	gate := make(chan struct{})
	v.mu.Lock()
	v.gate = gate
	v.mu.Unlock()
	return func() {
		v.mu.Lock()
		v.gate = nil
		v.mu.Unlock()
		close(gate)
	}
}
