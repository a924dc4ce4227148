package subscription

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"yiku/fault"
)

// Resolver resolves a webhook's host name (net.DefaultResolver does).
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// WebhookPolicy decides which destinations the hub may POST deliveries to.
// By default only https to public addresses: a webhook URL is outside
// input, and without this check a subscriber could make the hub call
// loopback services, the internal network or a cloud metadata endpoint
// (server-side request forgery). Addresses are checked when the URL is
// given and again on every connection, after resolution, so a host name
// that later resolves elsewhere (DNS rebinding) is refused as well.
type WebhookPolicy struct {
	// AllowPrivate also permits plain http and loopback and private
	// (RFC 1918, unique local) destinations: for receivers on an internal
	// government network, tests and the embedded demo. Cloud metadata
	// addresses, link-local (169.254.0.0/16, fe80::/10, where metadata
	// services live), unspecified, multicast and reserved addresses stay
	// refused.
	AllowPrivate bool
	// Resolver resolves host names at creation; net.DefaultResolver when nil.
	Resolver Resolver
}

// errDestination marks a refused destination at dial time.
var errDestination = errors.New("webhook destination refused")

// ipv4Reserved are IPv4 ranges that are never a receiver's public address.
var ipv4Reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
}

// metadataAddrs are cloud instance metadata and platform endpoints: a hub
// that POSTs there could hand a subscriber the machine's credentials. They
// are refused in every mode, --webhook-allow-private included, although
// some are private or even public addresses.
var metadataAddrs = map[netip.Addr]string{
	netip.MustParseAddr("169.254.169.254"): "instance metadata of AWS, GCP, Azure, OpenStack, Huawei Cloud and others",
	netip.MustParseAddr("fd00:ec2::254"):   "AWS instance metadata over IPv6",
	netip.MustParseAddr("169.254.170.2"):   "AWS ECS task metadata and credentials",
	netip.MustParseAddr("169.254.170.23"):  "AWS EKS pod identity credentials",
	netip.MustParseAddr("fd00:ec2::23"):    "AWS EKS pod identity credentials over IPv6",
	netip.MustParseAddr("fd20:ce::254"):    "GCP instance metadata over IPv6",
	netip.MustParseAddr("100.100.100.200"): "Alibaba Cloud instance metadata",
	netip.MustParseAddr("169.254.0.23"):    "Tencent Cloud instance metadata",
	netip.MustParseAddr("192.0.0.192"):     "Oracle Cloud instance metadata",
	netip.MustParseAddr("168.63.129.16"):   "Azure platform (wire server)",
}

// IPv6 ranges that carry an IPv4 address. A packet to one of them ends at
// (or is translated to) the embedded IPv4 address, so that address decides.
var (
	ipv4Compatible  = netip.MustParsePrefix("::/96")           // ::a.b.c.d, deprecated (RFC 4291)
	ipv4Translated  = netip.MustParsePrefix("::ffff:0:0:0/96") // ::ffff:0:a.b.c.d (RFC 2765)
	nat64           = netip.MustParsePrefix("64:ff9b::/96")    // well-known NAT64 prefix (RFC 6052)
	sixToFour       = netip.MustParsePrefix("2002::/16")       // 6to4: IPv4 in bits 16-48 (RFC 3056)
	teredo          = netip.MustParsePrefix("2001::/32")       // Teredo: server in bits 32-64, client inverted in the last 32 (RFC 4380)
	nat64Loc        = netip.MustParsePrefix("64:ff9b:1::/48")  // local-use NAT64, translation unknown (RFC 8215)
	ipv6Doc         = netip.MustParsePrefix("2001:db8::/32")
	siteLocal       = netip.MustParsePrefix("fec0::/10")
	ipv6Unspecified = netip.IPv6Unspecified()
	ipv6Loopback    = netip.IPv6Loopback()
)

// deciding returns the addresses that decide whether a may be connected
// to: the IPv4 addresses an IPv6 address embeds (IPv4-mapped,
// IPv4-compatible, IPv4-translated, NAT64, 6to4 and both of Teredo's),
// or a itself. The zone is dropped.
func deciding(a netip.Addr) []netip.Addr {
	a = a.WithZone("").Unmap()
	if !a.Is6() || a == ipv6Unspecified || a == ipv6Loopback {
		return []netip.Addr{a}
	}
	b := a.As16()
	last := netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	switch {
	case ipv4Compatible.Contains(a), ipv4Translated.Contains(a), nat64.Contains(a):
		return []netip.Addr{last}
	case sixToFour.Contains(a):
		return []netip.Addr{netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})}
	case teredo.Contains(a):
		server := netip.AddrFrom4([4]byte{b[4], b[5], b[6], b[7]})
		client := netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})
		return []netip.Addr{server, client}
	}
	return []netip.Addr{a}
}

// Refusal says why the policy refuses to connect to a, or "" when it may.
// Embedded IPv4 addresses are judged, not the IPv6 form that carries them.
func (w WebhookPolicy) Refusal(a netip.Addr) string {
	if !a.IsValid() {
		return "not an address"
	}
	for _, d := range deciding(a) {
		if why := w.refusal(d); why != "" {
			return why
		}
	}
	return ""
}

func (w WebhookPolicy) refusal(a netip.Addr) string {
	if what, ok := metadataAddrs[a]; ok {
		return "a cloud metadata address (" + what + ")"
	}
	switch {
	case a.IsUnspecified():
		return "an unspecified address"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a.IsMulticast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast():
		return "a multicast address"
	case a.Is4():
		for _, p := range ipv4Reserved {
			if p.Contains(a) {
				return "a reserved address"
			}
		}
	case nat64Loc.Contains(a) || ipv6Doc.Contains(a) || siteLocal.Contains(a):
		return "a reserved address"
	}
	if w.AllowPrivate {
		return ""
	}
	switch {
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	}
	return ""
}

// parse checks a webhook URL's form and scheme: an absolute https URL (or
// http when private destinations are allowed) without user information.
func (w WebhookPolicy) parse(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Hostname() == "" || u.User != nil || u.Opaque != "" || len(s) > 2000 {
		return nil, invalidWebhook("webhook_url must be an absolute URL without user information, at most 2000 characters", "absolute URL")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !w.AllowPrivate {
			return nil, invalidWebhook("webhook_url must use https", "https required")
		}
	default:
		return nil, invalidWebhook("webhook_url must be an https URL", "https required")
	}
	return u, nil
}

// CheckURL checks a webhook URL when a subscription is created: its form,
// its scheme, and every address its host has now.
func (w WebhookPolicy) CheckURL(ctx context.Context, s string) error {
	u, err := w.parse(s)
	if err != nil {
		return err
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if why := w.Refusal(a); why != "" {
			return invalidWebhook(fmt.Sprintf("webhook_url points to %s", why), why)
		}
		return nil
	}
	r := w.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return invalidWebhook(fmt.Sprintf("webhook_url host %q does not resolve", host), "host does not resolve")
	}
	for _, a := range addrs {
		if why := w.Refusal(a); why != "" {
			return invalidWebhook(fmt.Sprintf("webhook_url host %q resolves to %s", host, why), "resolves to "+why)
		}
	}
	return nil
}

// control refuses a connection whose resolved address the policy refuses.
func (w WebhookPolicy) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", errDestination, address)
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s is not an address", errDestination, host)
	}
	if why := w.Refusal(a); why != "" {
		return fmt.Errorf("%w: %s is %s", errDestination, a, why)
	}
	return nil
}

// Client returns the HTTP client deliveries use: every connection's
// address is checked after resolution, no proxy is consulted (it would
// hide the destination), and redirects are not followed (a redirect is an
// answer other than 2xx, so the delivery fails and is retried).
func (w WebhookPolicy) Client(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: w.control}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialer.DialContext,
			ForceAttemptHTTP2:   true,
			TLSHandshakeTimeout: 10 * time.Second,
			MaxIdleConns:        100,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func invalidWebhook(msg, reason string) error {
	return fault.Invalidf("invalid_webhook_url", "%s", msg).WithDetails(fault.Detail{Field: "webhook_url", Reason: reason})
}
