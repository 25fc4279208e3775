package safefetch

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"
)

// ErrBlocked is in the chain of every error caused by a destination address
// that is private, local or otherwise not on the public internet, whichever
// way the address was reached (an IP literal, a DNS answer or a redirect).
// Webhook senders test for it with errors.Is to tell a refusal from a
// network failure worth retrying.
var ErrBlocked = errors.New("destination address is private or local")

// blockedV4 holds every IPv4 range that is not globally routable unicast
// (the special-purpose registry of RFC 6890 and its updates). The ranges that
// are special but globally reachable (AS112, AMT) stay allowed.
var blockedV4 = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network": 0.0.0.0 reaches the local host on Linux
	netip.MustParsePrefix("10.0.0.0/8"),      // private
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT; Alibaba Cloud's metadata is 100.100.100.200
	netip.MustParsePrefix("127.0.0.0/8"),     // loopback
	netip.MustParsePrefix("169.254.0.0/16"),  // link-local; cloud metadata lives at 169.254.169.254
	netip.MustParsePrefix("172.16.0.0/12"),   // private
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments (DS-Lite, NAT64 discovery)
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("192.88.99.0/24"),  // deprecated 6to4 relay anycast
	netip.MustParsePrefix("192.168.0.0/16"),  // private
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("224.0.0.0/4"),     // multicast
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and 255.255.255.255 broadcast
}

// globalUnicastV6 is the only IPv6 block the internet routes today. Refusing
// everything outside it catches loopback, unspecified, IPv4-compatible,
// link-local, site-local, unique-local (fc00::/7, home of AWS's
// fd00:ec2::254), multicast and discard-only addresses without listing them,
// and keeps refusing whatever the IETF carves out of the rest next.
var globalUnicastV6 = netip.MustParsePrefix("2000::/3")

// blockedV6 holds the special ranges inside 2000::/3.
var blockedV6 = []netip.Prefix{
	// IETF protocol assignments: Teredo (2001::/32, which hides a client's
	// IPv4 address), benchmarking, ORCHID. No image is served from there.
	netip.MustParsePrefix("2001::/23"),
	netip.MustParsePrefix("2001:db8::/32"), // documentation
	netip.MustParsePrefix("3fff::/20"),     // documentation (RFC 9637)
	netip.MustParsePrefix("5f00::/16"),     // segment routing SIDs (RFC 9602)
}

// The IPv6 ranges that carry an IPv4 address, which must be judged as that
// IPv4 address: NAT64 gateways and 6to4 relays forward to it.
var (
	nat64 = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052; the IPv4 address is the last 4 bytes
	sixTo = netip.MustParsePrefix("2002::/16")    // RFC 3056; the IPv4 address is bytes 2 to 5
)

// isBlocked reports whether a is anything but a public unicast address.
func isBlocked(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	if a.Is4() {
		return inAny(blockedV4, a)
	}
	if !a.Is6() {
		return true
	}
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return isBlocked(netip.AddrFrom4([4]byte(b[12:16])))
	case sixTo.Contains(a):
		return isBlocked(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return !globalUnicastV6.Contains(a) || inAny(blockedV6, a)
}

func inAny(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// checkAddr returns an error wrapping ErrBlocked unless a may be reached.
func (c *Client) checkAddr(a netip.Addr) error {
	plain := a.WithZone("").Unmap()
	if inAny(c.allow, plain) {
		return nil
	}
	if isBlocked(plain) {
		return fmt.Errorf("%w: %s", ErrBlocked, a)
	}
	return nil
}

// control runs on every socket the transport opens, after DNS and just before
// connect, so it judges the address actually dialled: a name that resolves
// to a private address, a DNS answer that changes between two lookups
// (rebinding) and a redirect's new host all end up here.
func (c *Client) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Fail closed: an address we cannot read is an address we cannot vouch for.
		return fmt.Errorf("%w: cannot parse dial address %q (%s)", ErrBlocked, address, network)
	}
	return c.checkAddr(ap.Addr())
}
