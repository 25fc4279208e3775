package safefetch

import (
	"errors"
	"testing"

	"github.com/tryonhq/tryon/pkg/tryon"
)

// wantRefusal fails unless err is the invalid_request error with message
// msg, carrying its cause for the logs.
func wantRefusal(tb testing.TB, err error, msg string) {
	tb.Helper()
	var te *tryon.Error
	if !errors.As(err, &te) {
		tb.Fatalf("error = %v (%T); want a *tryon.Error %q", err, err, msg)
	}
	if te.Code != tryon.CodeInvalidRequest || te.Message != msg {
		tb.Fatalf("error = %s %q; want %s %q", te.Code, te.Message, tryon.CodeInvalidRequest, msg)
	}
	if te.Cause == nil {
		tb.Fatalf("error %q has no Cause; want the underlying error for the logs", msg)
	}
}

func TestCheckURL(t *testing.T) {
	for _, raw := range []string{
		"https://example.com/hook",
		"http://example.com:8080/a?b=c#d",
		"HTTPS://Example.COM/hook",
		"https://hooks.example.com./x",
		"https://8.8.8.8/hook",
		"https://[2606:4700:4700::1111]/hook",
		"https://1password.com/", // a leading digit is fine; only the last label may not be numeric
	} {
		if err := CheckURL(raw); err != nil {
			t.Errorf("CheckURL(%q) = %v; want nil", raw, err)
		}
	}

	tests := []struct {
		name, raw, msg string
	}{
		{"ErrSchemeFTP", "ftp://example.com/hook", "must be an http(s) URL"},
		{"ErrSchemeFile", "file:///etc/passwd", "must be an http(s) URL"},
		{"ErrSchemeData", "data:text/plain;base64,aGk=", "must be an http(s) URL"},
		{"ErrRelative", "example.com/hook", "must be an http(s) URL"},
		{"ErrEmpty", "", "must be an http(s) URL"},
		{"ErrUnparseable", "http://[::1", "is not a valid URL"},
		{"ErrNoHost", "https:///hook", "must have a valid host name"},
		{"ErrPortOnly", "https://:443/hook", "must have a valid host name"},
		{"ErrOpaque", "http:example.com", "must have a valid host name"},
		{"ErrUserinfo", "https://user:secret@example.com/hook", "must not contain a user name or password"},
		{"ErrUsername", "https://user@example.com/hook", "must not contain a user name or password"},
		{"ErrDecimalIPv4", "http://2130706433/", "must have a valid host name"},
		{"ErrHexIPv4", "http://0x7f.1/", "must have a valid host name"},
		{"ErrShortIPv4", "http://127.1/", "must have a valid host name"},
		{"ErrLoopback", "http://127.0.0.1/hook", msgBlocked},
		{"ErrLoopbackIPv6", "http://[::1]:8080/hook", msgBlocked},
		{"ErrPrivate", "http://10.0.0.1/hook", msgBlocked},
		{"ErrMetadata", "http://169.254.169.254/latest/meta-data/", msgBlocked},
		{"ErrCGNAT", "http://100.64.0.1/", msgBlocked},
		{"ErrULA", "http://[fd00::1]/", msgBlocked},
		{"ErrMapped", "http://[::ffff:127.0.0.1]/", msgBlocked},
		{"ErrLinkLocalZone", "http://[fe80::1%25eth0]/", msgBlocked},
		{"ErrUnspecified", "http://0.0.0.0:8080/", msgBlocked},
		{"ErrLocalhost", "http://localhost:8080/hook", msgBlocked},
		{"ErrLocalhostDot", "http://LOCALHOST./hook", msgBlocked},
		{"ErrLocalhostSubdomain", "http://api.localhost/hook", msgBlocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRefusal(t, CheckURL(tt.raw), tt.msg)
		})
	}
}
