package safefetch

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// The reasons a URL is refused before anything is dialled.
var (
	errScheme   = errors.New("scheme is not http or https")
	errHost     = errors.New("missing or malformed host")
	errUserinfo = errors.New("URL carries a user name or password")
	errLocal    = errors.New("host name is reserved for the local host")
)

// CheckURL checks a URL a tenant registers to be called later, such as a
// webhook: an absolute http or https URL with a host, no user name or
// password, and no IP literal or localhost name that points at a private or
// local address. It is only a syntactic first line: names are resolved when
// the URL is used, and the fetcher's dial-time check is what keeps the
// request off private networks. Its error is an invalid_request *tryon.Error
// without a field name.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return refuseURL(err, "")
	}
	if err := checkURL(u, nil); err != nil {
		return refuseURL(err, "must be an http(s) URL")
	}
	// Registration has no dial to catch these, so refuse the names that
	// resolve to loopback by definition (RFC 6761).
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return refuseURL(errLocal, "")
	}
	return nil
}

// checkURL checks what can be known about u without the network. allow lists
// the private prefixes an IP literal may still name.
func checkURL(u *url.URL, allow []netip.Prefix) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return errScheme
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return errHost
	}
	if u.User != nil {
		return errUserinfo
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if inAny(allow, a.WithZone("").Unmap()) || !isBlocked(a) {
			return nil
		}
		return fmt.Errorf("%w: %s", ErrBlocked, a)
	}
	// No top-level domain is numeric, so a host ending in a number is an
	// IPv4 address in a form netip rejects but C resolvers accept
	// ("2130706433", "0x7f.1", "127.1"): too easy a disguise to let through.
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	last := strings.ToLower(labels[len(labels)-1])
	if last == "" || strings.HasPrefix(last, "0x") || strings.Trim(last, "0123456789") == "" {
		return errHost
	}
	return nil
}

// refuseURL turns a reason from checkURL (or url.Parse) into the tenant-facing
// error. schemeMessage says what the caller accepts, which differs between
// input images (data: too), webhooks and redirects.
func refuseURL(err error, schemeMessage string) *tryon.Error {
	msg := "is not a valid URL"
	switch {
	case errors.Is(err, ErrBlocked), errors.Is(err, errLocal):
		msg = msgBlocked
	case errors.Is(err, errScheme) && schemeMessage != "":
		msg = schemeMessage
	case errors.Is(err, errHost):
		msg = "must have a valid host name"
	case errors.Is(err, errUserinfo):
		msg = "must not contain a user name or password"
	}
	return &tryon.Error{Code: tryon.CodeInvalidRequest, Message: msg, Cause: err}
}
