// Package fake is a local, deterministic generation provider: no network, real
// output files.
//
// It is the default provider in local development and the one that always
// serves test-mode API keys, so the whole product runs, and is tested end to
// end, without an account anywhere. Its outputs are real files that browsers
// and media tools open: a PNG of exactly the requested size for the image
// services, and a small H.264 MP4 for video, both made by this package with
// the standard library alone.
//
// The same request always gives the same bytes. An image is drawn from a hash
// of the prompt (the colours and, without input images, an identicon), the
// first characters of the prompt in a bitmap font, and the person and garment
// images when they are given.
//
// Tests of the layers above choose a scenario through the prompt:
//
//	[fake:blocked]      the call fails as content_blocked
//	[fake:unavailable]  the call fails as unavailable, retry after 2 s
//	[fake:error]        the call fails as bad_response
//	[fake:no_output]    the call fails as no_output
//	[fake:sleep=750ms]  the call takes that much longer (any Go duration, at most 10 min)
//
// For video the failures show when the operation finishes, as they do with
// the real long-running upstream, and a sleep lengthens the operation.
// Options.Fail makes every call fail, to rehearse an outage.
//
// Video operations are stateless: the operation name that Start returns holds
// everything Poll needs, because the poll may come from another serverless
// instance than the one that started it. Cancel is the exception: a
// canceled operation is remembered by the Provider that canceled it.
package fake
