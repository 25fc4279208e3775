package tryon

import "github.com/google/uuid"

// Delivery is a webhook delivery with what sending it needs.
type Delivery struct {
	ID         uuid.UUID
	Event      string
	URL        string
	Secret     string
	Attempts   int
	Generation *Generation
}

// Asset is a stored output served by the API (when outputs are stored in
// the database rather than Vercel Blob).
type Asset struct {
	Token       string
	ContentType string
	Data        []byte
}
