package materialapi_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
)

// pdfStream is an endless-looking PDF of n bytes made on the fly, so the
// client holds none of it.
type pdfStream struct {
	n, off int64
	rng    *rand.ChaCha8
}

func (p *pdfStream) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	if int64(len(b)) > p.n-p.off {
		b = b[:p.n-p.off]
	}
	_, _ = p.rng.Read(b)
	if p.off == 0 {
		copy(b, "%PDF-1.7\n")
	}
	p.off += int64(len(b))
	return len(b), nil
}

// BenchmarkConcurrentUploads uploads MATERIAL_UPLOADS (default 50) files
// of 20 MB at once, each streamed from a generator through a pipe, and
// reports the hub process's peak heap in use (runtime.MemStats.HeapInuse
// sampled every 5 ms) and its peak RSS (VmHWM). The figures are in
// docs/performance.md.
func BenchmarkConcurrentUploads(b *testing.B) {
	n := 50
	if s := os.Getenv("MATERIAL_UPLOADS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	const size = 20 << 20
	h := hubtest.Start(b)
	secret := h.Secret("officer-gsc")
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for j := 0; j < n; j++ {
			wg.Add(1)
			go func(j int) {
				defer wg.Done()
				pr, pw := io.Pipe()
				mw := multipart.NewWriter(pw)
				go func() {
					for _, kv := range [][2]string{{"applicant", lookupdemo.Citizen}, {"material_type", "household-register"},
						{"case_number", fmt.Sprintf("BENCH-%d-%d", i, j)}, {"purpose", "结婚登记"}} {
						_ = mw.WriteField(kv[0], kv[1])
					}
					fw, _ := mw.CreateFormFile("file", "scan.pdf")
					_, err := io.Copy(fw, &pdfStream{n: size, rng: rand.NewChaCha8([32]byte{byte(i), byte(j), 1})})
					if err == nil {
						err = mw.Close()
					}
					pw.CloseWithError(err)
				}()
				req, _ := http.NewRequest("POST", h.URL+"/api/v1/materials", pr)
				req.Header.Set("Content-Type", mw.FormDataContentType())
				req.Header.Set("Authorization", "Bearer "+secret)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					errs <- err
					return
				}
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode != 201 {
					errs <- fmt.Errorf("upload %d: %d %s", j, resp.StatusCode, body)
				}
			}(j)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	close(stop)
	<-sampled
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(base.HeapInuse)/(1<<20), "base-heap-MiB")
	b.ReportMetric(float64(n*size*b.N)/(1<<20)/elapsed.Seconds(), "MiB/s")
	if rss := vmHWM(); rss > 0 {
		b.ReportMetric(float64(rss)/1024, "peak-rss-MiB")
	}
}

// vmHWM is the process's peak resident set in KiB (Linux), or 0.
func vmHWM() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return n
		}
	}
	return 0
}
