package safefetch

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"sync/atomic"
)

// fakeDNS answers every A and AAAA query with the addresses its answer
// function returns at that moment, so a test can make any name resolve
// anywhere and change its mind between lookups, as a rebinding attacker's
// DNS server does. It speaks the real wire format to Go's own resolver.
type fakeDNS struct {
	answer  atomic.Pointer[[]netip.Addr]
	queries atomic.Int64
}

func (d *fakeDNS) set(addrs ...string) {
	parsed := make([]netip.Addr, len(addrs))
	for i, a := range addrs {
		parsed[i] = netip.MustParseAddr(a)
	}
	d.answer.Store(&parsed)
}

// resolver returns a Go resolver that sends its queries to d instead of the
// system's name servers (the hosts file is still read first).
func (d *fakeDNS) resolver() *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			client, server := net.Pipe()
			go d.serve(server)
			return client, nil
		},
	}
}

// serve answers one query framed as over TCP (a net.Pipe is not a
// PacketConn, so the resolver uses the stream framing).
func (d *fakeDNS) serve(conn net.Conn) {
	defer conn.Close()
	var size [2]byte
	if _, err := io.ReadFull(conn, size[:]); err != nil {
		return
	}
	query := make([]byte, binary.BigEndian.Uint16(size[:]))
	if _, err := io.ReadFull(conn, query); err != nil || len(query) < 12 {
		return
	}
	d.queries.Add(1)
	// The question is the name's labels, a zero byte, then type and class.
	end := 12
	for end < len(query) && query[end] != 0 {
		end += 1 + int(query[end])
	}
	end += 5
	if end > len(query) {
		return
	}
	question := query[12:end]
	qtype := binary.BigEndian.Uint16(question[len(question)-4:])

	var answers [][]byte
	for _, a := range *d.answer.Load() {
		if (qtype == 1 && a.Is4()) || (qtype == 28 && a.Is6()) {
			rr := []byte{0xc0, 12, 0, 0, 0, 1, 0, 0, 0, 0} // pointer to the question's name, class IN, TTL 0
			binary.BigEndian.PutUint16(rr[2:4], qtype)
			rr = binary.BigEndian.AppendUint16(rr, uint16(len(a.AsSlice())))
			answers = append(answers, append(rr, a.AsSlice()...))
		}
	}
	msg := []byte{query[0], query[1], 0x81, 0x80, 0, 1, 0, byte(len(answers)), 0, 0, 0, 0} // response, recursion desired and available
	msg = append(msg, question...)
	for _, rr := range answers {
		msg = append(msg, rr...)
	}
	conn.Write(binary.BigEndian.AppendUint16(nil, uint16(len(msg))))
	conn.Write(msg)
}
