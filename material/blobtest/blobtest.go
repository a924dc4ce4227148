// Package blobtest opens the material library's blob storage for tests: a
// file store under the test's temporary directory, or a private prefix of
// the S3-compatible bucket named by YIKU_TEST_S3_URL (S3Proxy, started by
// deployments/local/s3-up.sh under `make test`). Without that variable the
// S3 tests skip.
package blobtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"gocloud.dev/blob"

	"yiku/material"
)

// EnvS3URL names the variable holding a gocloud.dev s3:// bucket URL
// (endpoint, use_path_style, region, profile) that tests may write into.
// Its credentials come from the AWS environment: s3-up.sh prints
// AWS_SHARED_CREDENTIALS_FILE beside it.
const EnvS3URL = "YIKU_TEST_S3_URL"

// Stores are the kinds of store tests run against: "file", and "s3" when
// EnvS3URL is set (tests for "s3" skip otherwise).
var Stores = []string{"file", "s3"}

// URL returns a material store URL for kind ("file" or "s3") that only this
// test uses: a new directory, or a new key prefix in the S3 bucket, emptied
// when the test ends. For "s3" without EnvS3URL the test skips.
func URL(t testing.TB, kind string) string {
	t.Helper()
	switch kind {
	case "file":
		dir := filepath.Join(t.TempDir(), "materials")
		return "file://" + filepath.ToSlash(dir) + "?create_dir=true&no_tmp_dir=true"
	case "s3":
		base := os.Getenv(EnvS3URL)
		if base == "" {
			t.Skipf("S3 store: set %s (and its AWS credentials) to an S3-compatible bucket; deployments/local/s3-up.sh prints both and make test sets them", EnvS3URL)
		}
		u, err := url.Parse(base)
		if err != nil || u.Scheme != "s3" || u.Host == "" {
			t.Fatalf("blobtest: %s=%q is not an s3://bucket?… URL", EnvS3URL, base)
		}
		q := u.Query()
		if q.Get("prefix") != "" {
			t.Fatalf("blobtest: %s must not carry a prefix; each test gets its own", EnvS3URL)
		}
		q.Set("prefix", prefix(t))
		u.RawQuery = q.Encode()
		s := u.String()
		t.Cleanup(func() { empty(t, s) })
		return s
	default:
		t.Fatalf("blobtest: unknown store kind %q", kind)
		return ""
	}
}

// Open opens a store URL from URL, closed when the test ends. The bucket
// reads and writes the stored objects as they are, through the driver
// itself: tests use it to look at what the library left in the store.
func Open(t testing.TB, storeURL string) *blob.Bucket {
	t.Helper()
	b, err := material.OpenBucket(context.Background(), storeURL)
	if err != nil {
		t.Fatalf("blobtest: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// Keys lists every object key in the bucket. Keys ending in "/" are left
// out: S3Proxy's filesystem backend lists the directories that hold objects
// ("blobs/") as empty objects of their own, which the library never writes
// (and deleting one while it holds objects stalls S3Proxy for ten seconds).
func Keys(t testing.TB, b *blob.Bucket) []string {
	t.Helper()
	var keys []string
	it := b.List(nil)
	for {
		obj, err := it.Next(context.Background())
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("blobtest: list: %v", err)
		}
		if !strings.HasSuffix(obj.Key, "/") {
			keys = append(keys, obj.Key)
		}
	}
	return keys
}

// Requests puts a recording reverse proxy in front of the endpoint of an
// s3:// store URL and returns the URL through it, and a function listing
// the requests it forwarded so far ("PUT ?partNumber=1&uploadId=…"). The
// proxy keeps the client's Host header, so signatures still match. Tests
// use it to see which S3 operations the library ran.
func Requests(t testing.TB, storeURL string) (string, func() []string) {
	t.Helper()
	u, err := url.Parse(storeURL)
	if err != nil || u.Scheme != "s3" {
		t.Fatalf("blobtest: Requests needs an s3:// URL, not %q", storeURL)
	}
	q := u.Query()
	target, err := url.Parse(q.Get("endpoint"))
	if err != nil || target.Host == "" {
		t.Fatalf("blobtest: %q has no endpoint to put a proxy in front of", storeURL)
	}
	var (
		mu   sync.Mutex
		seen []string
	)
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" ?"+r.URL.RawQuery)
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	q.Set("endpoint", srv.URL)
	u.RawQuery = q.Encode()
	return u.String(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), seen...)
	}
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// prefix is a key prefix no other run or test uses: the test's name, then
// random hex.
func prefix(t testing.TB) string {
	name := unsafe.ReplaceAllString(t.Name(), "-")
	if len(name) > 60 {
		name = name[:60]
	}
	var r [6]byte
	_, _ = rand.Read(r[:])
	return "test/" + name + "-" + hex.EncodeToString(r[:]) + "/"
}

// empty deletes what a test left under its prefix.
func empty(t testing.TB, storeURL string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := material.OpenBucket(ctx, storeURL)
	if err != nil {
		t.Errorf("blobtest: empty the test's prefix: %v", err)
		return
	}
	defer b.Close()
	for _, key := range Keys(t, b) {
		if err := b.Delete(ctx, key); err != nil {
			t.Errorf("blobtest: delete %s: %v", key, err)
		}
	}
}
