package auditapi

import (
	"context"
	"database/sql"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"yiku/audit/verify"
	"yiku/fault"
	"yiku/httpapi"
)

// Verifier runs chain verifications (package audit/verify) that a reviewer
// starts over the API, in the background, one at a time. Runs live in the
// memory of the instance that started them: another instance does not know
// them, and a restart forgets them. It is also the hub worker whose context
// the runs use, so a run outlives its request and ends at shutdown.
type Verifier struct {
	DB *sql.DB
	// Trusted are the checkpoint keys signatures are checked against
	// (audit.Keys.Trusted of the hub's secret).
	Trusted [][]byte
	// Keep is how many finished runs are kept (0: 5).
	Keep int

	mu       sync.Mutex
	base     context.Context
	running  *run
	finished []*run
	wg       sync.WaitGroup
	// gate, when set (tests), holds a run before it starts verifying.
	gate chan struct{}
}

type run struct {
	id        string
	startedBy string
	started   time.Time
	total     atomic.Int64
	verified  atomic.Int64
	// Set once the run ends, under the verifier's lock.
	finished time.Time
	report   *verify.Report
	err      string
}

// Verification is a run's state as the API answers it.
type Verification struct {
	ID         string     `json:"id"`
	State      string     `json:"state"`
	StartedBy  string     `json:"started_by"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Total      int64      `json:"total"`
	Verified   int64      `json:"verified"`
	OK         *bool      `json:"ok,omitempty"`
	// ProblemCount counts every problem, listed or not (done runs).
	ProblemCount int64          `json:"problem_count,omitempty"`
	Report       *verify.Report `json:"report,omitempty"`
	Error        string         `json:"error,omitempty"`
}

// Run States.
const (
	VerificationRunning = "running"
	VerificationDone    = "done"
	VerificationFailed  = "failed"
)

// Name names the worker.
func (v *Verifier) Name() string { return "audit-verifier" }

// Run lends the hub's worker context to the runs until it ends, then waits
// for a run in progress to stop.
func (v *Verifier) Run(ctx context.Context) error {
	v.mu.Lock()
	v.base = ctx
	v.mu.Unlock()
	<-ctx.Done()
	v.wg.Wait()
	return nil
}

func (v *Verifier) state(r *run) Verification {
	out := Verification{ID: r.id, State: VerificationRunning, StartedBy: r.startedBy, StartedAt: r.started,
		Total: r.total.Load(), Verified: r.verified.Load()}
	if r.finished.IsZero() {
		return out
	}
	f := r.finished
	out.FinishedAt = &f
	if r.report == nil {
		out.State, out.Error = VerificationFailed, r.err
		return out
	}
	ok := r.report.OK()
	out.State, out.OK, out.Report, out.ProblemCount = VerificationDone, &ok, r.report, r.report.ProblemCount()
	return out
}

// start begins a run for who; a run in progress is a conflict.
func (v *Verifier) start(who string) (Verification, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.running != nil {
		return Verification{}, fault.Conflictf("verification_running", "verification %s is running; wait for its result", v.running.id).
			WithDetails(fault.Detail{Field: "id", Reason: v.running.id})
	}
	if v.base == nil || v.base.Err() != nil {
		return Verification{}, fault.New(fault.Unavailable, "verifier_unavailable", "the verifier is not running on this instance; retry")
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Verification{}, err
	}
	r := &run{id: id.String(), startedBy: who, started: time.Now().UTC()}
	v.running = r
	ctx, gate := v.base, v.gate
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		if gate != nil {
			<-gate
		}
		rep, err := v.verify(ctx, r)
		v.mu.Lock()
		defer v.mu.Unlock()
		r.finished = time.Now().UTC()
		if err != nil {
			r.err = err.Error()
		} else {
			r.report = &rep
		}
		v.running = nil
		keep := v.Keep
		if keep <= 0 {
			keep = 5
		}
		v.finished = append(v.finished, r)
		if len(v.finished) > keep {
			v.finished = v.finished[len(v.finished)-keep:]
		}
	}()
	return v.state(r), nil
}

func (v *Verifier) verify(ctx context.Context, r *run) (verify.Report, error) {
	total, err := verify.Count(ctx, v.DB)
	if err != nil {
		return verify.Report{}, err
	}
	r.total.Store(total)
	// Events appended while the run reads are verified too; the total grows
	// with them so progress never reads "5 of 4".
	progress := func(done int64) {
		r.verified.Store(done)
		for {
			t := r.total.Load()
			if done <= t || r.total.CompareAndSwap(t, done) {
				return
			}
		}
	}
	return verify.Run(ctx, v.DB, verify.Options{Trusted: v.Trusted, Progress: progress})
}

// get returns the run id, running or kept.
func (v *Verifier) get(id string) (Verification, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.running != nil && v.running.id == id {
		return v.state(v.running), true
	}
	for _, r := range v.finished {
		if r.id == id {
			return v.state(r), true
		}
	}
	return Verification{}, false
}

func (a *API) startVerification(c *gin.Context) {
	httpapi.Note(c).Action = "audit.verify"
	if a.Verifier == nil {
		httpapi.Fail(c, fault.New(fault.Unavailable, "verifier_unavailable", "this instance does not run verifications"))
		return
	}
	p := httpapi.MustPrincipal(c)
	who := p.Name
	if who == "" {
		who = p.ID
	}
	out, err := a.Verifier.start(who)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/audit/verifications/"+out.ID)
	c.JSON(http.StatusAccepted, out)
}

func (a *API) verification(c *gin.Context) {
	httpapi.Note(c).Action = "audit.verify.status"
	id := c.Param("id")
	var out Verification
	ok := false
	if a.Verifier != nil {
		out, ok = a.Verifier.get(id)
	}
	if !ok {
		httpapi.Fail(c, fault.NotFoundf("verification_not_found", "verification %q is not known to this instance (runs are kept in the instance that started them, the last few finished ones only)", id))
		return
	}
	c.JSON(http.StatusOK, out)
}
