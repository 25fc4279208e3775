package safefetch

import (
	"errors"
	"net/netip"
	"testing"
)

func TestIsBlocked(t *testing.T) {
	blocked := []string{
		"127.0.0.1", "127.255.255.254", "::1", // loopback
		"10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.0.1", // private
		"169.254.169.254", "169.254.0.1", "fe80::1", "fe80::1%eth0", // link-local, cloud metadata
		"100.64.0.1", "100.100.100.200", "100.127.255.255", // CGNAT, Alibaba metadata
		"0.0.0.0", "0.1.2.3", "::", // unspecified
		"255.255.255.255", "240.0.0.1", // broadcast, reserved
		"224.0.0.1", "239.255.255.250", "ff02::1", "ff05::1:3", // multicast
		"fc00::1", "fd00::1", "fd00:ec2::254", // unique local, AWS metadata over IPv6
		"198.18.0.1", "198.19.255.255", // benchmarking
		"192.0.2.1", "198.51.100.1", "203.0.113.1", "2001:db8::1", "3fff::1", // documentation
		"192.0.0.170", "192.88.99.1", // IETF protocol assignments, 6to4 relay
		"::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", // IPv4-mapped
		"::127.0.0.1", "::10.0.0.1", "::8.8.8.8", // IPv4-compatible, deprecated whatever it embeds
		"64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::8.8.8.8", // NAT64
		"2002:7f00:1::1", "2002:a9fe:a9fe::", "2002:a00:1::", // 6to4 embedding 127.0.0.1, 169.254.169.254, 10.0.0.1
		"2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo
		"100::1", "fec0::1", // discard-only, site-local
	}
	allowed := []string{
		"8.8.8.8", "1.1.1.1", "93.184.216.34", "223.255.255.255",
		"100.63.255.255", "100.128.0.0", "172.15.255.255", "172.32.0.0",
		"198.17.255.255", "198.20.0.0", "192.0.1.1", "169.253.255.255",
		"2606:4700:4700::1111", "2a00:1450:4001::200e",
		"64:ff9b::8.8.8.8", "2002:808:808::1", // NAT64 and 6to4 of a public address
		"::ffff:8.8.8.8",
	}
	for _, s := range blocked {
		if !isBlocked(netip.MustParseAddr(s)) {
			t.Errorf("isBlocked(%s) = false, want true", s)
		}
	}
	for _, s := range allowed {
		if isBlocked(netip.MustParseAddr(s)) {
			t.Errorf("isBlocked(%s) = true, want false", s)
		}
	}
}

// TestControl drives the dial-time check directly with the "ip:port"
// strings the dialer passes it.
func TestControl(t *testing.T) {
	c := New(Options{Allow: []netip.Prefix{
		netip.MustParsePrefix("127.0.0.2/32"),
		netip.MustParsePrefix("::ffff:127.0.0.3/128"), // a mapped prefix still matches the plain address
	}})
	tests := []struct {
		address string
		blocked bool
	}{
		{"127.0.0.1:80", true},
		{"10.0.0.1:443", true},
		{"169.254.169.254:80", true},
		{"100.64.0.1:80", true},
		{"[::1]:80", true},
		{"[fd00::1]:80", true},
		{"[fe80::1%eth0]:80", true},
		{"[::ffff:127.0.0.1]:80", true},
		{"[64:ff9b::7f00:1]:80", true},
		{"not an address", true},
		{"localhost:80", true},
		{"127.0.0.2:80", false},
		{"[::ffff:127.0.0.2]:80", false},
		{"127.0.0.3:80", false},
		{"8.8.8.8:443", false},
		{"[2606:4700:4700::1111]:443", false},
	}
	for _, tt := range tests {
		err := c.control("tcp", tt.address, nil)
		if got := errors.Is(err, ErrBlocked); got != tt.blocked {
			t.Errorf("control(%q) = %v; want blocked %v", tt.address, err, tt.blocked)
		}
	}
}
