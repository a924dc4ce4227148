package material

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gocloud.dev/blob"
	// Blob storage schemes the hub opens by URL: file:// (the data
	// directory in yiku dev) and s3:// (any S3-compatible store).
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/s3blob"
)

// OpenBucket opens the blob storage of a URL: file:///dir?create_dir=true
// or s3://bucket?region=…&endpoint=…&use_path_style=true (credentials from
// the usual AWS environment).
func OpenBucket(ctx context.Context, url string) (*blob.Bucket, error) {
	b, err := blob.OpenBucket(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("material: open blob storage: %w", err)
	}
	return b, nil
}

// ParseRetention reads "type=10y,other=365d,third=720h": years (y), days
// (d) or a Go duration per material type code.
func ParseRetention(s string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		typ, v, ok := strings.Cut(item, "=")
		typ, v = strings.TrimSpace(typ), strings.TrimSpace(v)
		if !ok || !typeCode.MatchString(typ) {
			return nil, fmt.Errorf("%q is not type=duration with a material type code", item)
		}
		var d time.Duration
		switch {
		case strings.HasSuffix(v, "y") || strings.HasSuffix(v, "d"):
			n, err := strconv.Atoi(v[:len(v)-1])
			if err != nil || n < 1 {
				return nil, fmt.Errorf("%q: %q is not a positive number of years (y) or days (d)", item, v)
			}
			d = time.Duration(n) * 24 * time.Hour
			if strings.HasSuffix(v, "y") {
				d *= 365
			}
		default:
			var err error
			if d, err = time.ParseDuration(v); err != nil || d <= 0 {
				return nil, fmt.Errorf("%q: %q is not a positive duration (10y, 365d, 720h)", item, v)
			}
		}
		out[typ] = d
	}
	return out, nil
}
