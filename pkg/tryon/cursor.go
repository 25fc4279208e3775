package tryon

import (
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
)

var errMalformedCursor = errors.New("malformed cursor")

// Encode makes the cursor opaque to clients.
func (c Cursor) Encode() string {
	raw := c.CreatedAt.UTC().Format(time.RFC3339Nano) + "|" + c.ID.String()
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// DecodeCursor parses a cursor made by Encode.
func DecodeCursor(s string) (*Cursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errMalformedCursor
	}
	ts, idStr, ok := strings.Cut(string(raw), "|")
	if !ok {
		return nil, errMalformedCursor
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return nil, errMalformedCursor
	}
	id, err := uuid.Parse(idStr)
	if err != nil {
		return nil, errMalformedCursor
	}
	return &Cursor{CreatedAt: t, ID: id}, nil
}
