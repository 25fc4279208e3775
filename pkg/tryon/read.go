package tryon

import (
	"time"

	"github.com/google/uuid"
)

// Read is the result of a read on an authenticated route. The read counted
// the request against the key's rate limit; a store answers a refused one
// with Rate.Error() and this Read, so that the answer still carries Rate.
type Read[T any] struct {
	Value T
	Rate  RateState
	// Expired lists the webhook deliveries queued because the read failed
	// generations past their deadline; the reader sends them.
	Expired []uuid.UUID
	// Claimed is true when the read took the poll lease of a processing
	// long-running generation: the reader must poll it.
	Claimed bool
}

// ListFilter selects generations for GET /generations.
type ListFilter struct {
	Status  Status
	Service Service
	Mode    Mode
	Limit   int
	Cursor  *Cursor
}

// Cursor is a position in a newest-first listing.
type Cursor struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// Page is one page of generations, newest first.
type Page struct {
	Items []*Generation
	Next  *Cursor
}
