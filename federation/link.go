package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"yiku/fault"
	"yiku/federation/peer"
	"yiku/fieldcrypt"
)

// Link is the client of this hub's upstream peer: HTTPS with this
// hub's certificate, accepting only the pinned one.
type Link struct {
	URL string
	// Pin is the fingerprint of the upstream hub's certificate.
	Pin    string
	client *http.Client
}

// NewLink returns the client of the upstream hub at rawURL (https).
func NewLink(rawURL string, own peer.Identity, pin string, timeout time.Duration) (*Link, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("federation: upstream URL %q: want https://host:port", rawURL)
	}
	return &Link{URL: strings.TrimRight(rawURL, "/"), Pin: pin, client: peer.Client(own, pin, timeout)}, nil
}

// peerError is the error shape of the peer API.
type peerError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// Unreachable reports whether err means the upstream hub could not be
// asked (down, link cut, timeout, wrong certificate): local work goes on.
func Unreachable(err error) bool {
	fe, ok := fault.As(err)
	return ok && fe.Kind == fault.Unavailable
}

// call sends one request; out, if not nil, receives the JSON answer. A
// refusal of the peer is returned as the fault it named (kind from its
// status); transport failures and a pinned-certificate mismatch are
// Unavailable.
func (u *Link) call(ctx context.Context, method, path, trace string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.URL+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if trace != "" {
		req.Header.Set(TraceHeader, trace)
	}
	resp, err := u.client.Do(req)
	if err != nil {
		if errors.Is(err, peer.ErrPinMismatch) {
			return fault.Wrap(err, fault.Unavailable, "peer_certificate_mismatch", "the upstream hub at %s presented another certificate than the pinned one; refused", u.URL)
		}
		return fault.Wrap(err, fault.Unavailable, "peer_unreachable", "the upstream hub at %s cannot be reached", u.URL)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fault.Wrap(err, fault.Unavailable, "peer_unreachable", "the upstream hub at %s broke off its answer", u.URL)
	}
	if resp.StatusCode >= 300 {
		var pe peerError
		_ = json.Unmarshal(data, &pe)
		code, msg := pe.Error.Code, pe.Error.Message
		if code == "" {
			code, msg = "peer_error", fmt.Sprintf("the upstream hub answered %d", resp.StatusCode)
		}
		kind := fault.Internal
		switch resp.StatusCode {
		case http.StatusBadRequest:
			kind = fault.Invalid
		case http.StatusForbidden, http.StatusUnauthorized:
			kind = fault.Forbidden
		case http.StatusNotFound:
			kind = fault.NotFound
		case http.StatusConflict:
			kind = fault.Conflict
		case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
			kind = fault.Unavailable
		}
		return fault.New(kind, code, "upstream hub: %s", msg)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("federation: upstream answer to %s %s: %w", method, path, err)
		}
	}
	return nil
}

// PeerState is a hub's answer about a peering: who it is and its side's status.
type PeerState struct {
	Self
	Status Status `json:"status"`
}

// Join asks the upstream hub to peer with self.
func (u *Link) Join(ctx context.Context, self Self) (PeerState, error) {
	var st PeerState
	err := u.call(ctx, http.MethodPost, "/federation/v1/peerings", "", self, &st)
	return st, err
}

// Report tells the upstream hub this side's status and returns its own.
func (u *Link) Report(ctx context.Context, own Status) (PeerState, error) {
	var st PeerState
	err := u.call(ctx, http.MethodPost, "/federation/v1/peering/status", "", map[string]Status{"status": own}, &st)
	return st, err
}

// Publish sends one directory entry (or its retirement).
func (u *Link) Publish(ctx context.Context, p Published) error {
	return u.call(ctx, http.MethodPut, "/federation/v1/directory/"+url.PathEscape(p.Resource.ID), "", p, nil)
}

// PutKeys hands the upstream hub this hub's data keys of an upward-shared
// resource, so it can open the resource's records MirrorMaker copies.
func (u *Link) PutKeys(ctx context.Context, resource string, keys []fieldcrypt.ExportedKey) error {
	return u.call(ctx, http.MethodPut, "/federation/v1/keys/"+url.PathEscape(resource), "", map[string]any{"keys": keys}, nil)
}

// Directory reads the upstream hub's shareable entries.
func (u *Link) Directory(ctx context.Context) ([]Published, error) {
	var out struct {
		Entries []Published `json:"entries"`
	}
	err := u.call(ctx, http.MethodGet, "/federation/v1/directory", "", nil, &out)
	return out.Entries, err
}

// FileShare carries a share request.
func (u *Link) FileShare(ctx context.Context, r RemoteShare) (RemoteShareState, error) {
	var st RemoteShareState
	err := u.call(ctx, http.MethodPost, "/federation/v1/share-requests", "", r, &st)
	return st, err
}

// ShareState asks about a carried request by its id there.
func (u *Link) ShareState(ctx context.Context, remoteID string) (RemoteShareState, error) {
	var st RemoteShareState
	err := u.call(ctx, http.MethodGet, "/federation/v1/share-requests/"+url.PathEscape(remoteID), "", nil, &st)
	return st, err
}

// Lookup asks for the records of one subject on an officer's behalf.
func (u *Link) Lookup(ctx context.Context, trace string, q RemoteLookup) ([]RemoteMaterial, error) {
	var out struct {
		Materials []RemoteMaterial `json:"materials"`
	}
	err := u.call(ctx, http.MethodPost, "/federation/v1/lookups", trace, q, &out)
	return out.Materials, err
}
