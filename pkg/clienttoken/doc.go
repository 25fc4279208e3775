// Package clienttoken makes and checks client tokens: short-lived JWTs a
// tenant gives one of its end users, so that a browser can call Tryon
// directly without ever seeing the tenant's secret key.
//
// A token is an HS256 JWT signed with the tenant's signing secret (or minted
// by POST /tokens with the same secret). Its header's kid names the secret's
// version; its claims are:
//
//	iss               the tenant's id (whose secret signed it)
//	sub               the tenant's id for the end user (1 to 128 characters)
//	mode              "live" or "test"
//	origins           the exact browser origins it works from (1 to 10)
//	scope             space-separated: "generate", "read" or both
//	iat, exp          issued and expiry time; exp - iat is at most 3600 s
//	jti               the token's unique id (1 to 128 characters)
//	max_generations   optional cap on the generations made with it
//	max_spend_micros  optional cap on what they cost, in micro-dollars
//
// The algorithm is pinned to HS256: a token naming any other (none, RS256
// with the secret as a "public key") is refused before its signature is
// looked at. The package is pure: the store of signing secrets is a
// function it is given.
package clienttoken
