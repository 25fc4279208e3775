package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/tryonhq/tryon/pkg/tryon"
)

// FinishGeneration runs tryon_finish (settle or release, rollups, webhook
// queueing), stores a staged output with its success, and reads the final
// row back, in one round trip and one transaction. When the row is missing
// and the completion carries its admission (c.Readmit), the admission was
// lost in a database crash: a second round trip readmits the generation and
// finishes it, again in one transaction. Only that rare case pays for it.
func (s *Store) FinishGeneration(ctx context.Context, id uuid.UUID, c tryon.Completion, webhookLease time.Duration) (*tryon.FinishResult, error) {
	ctx, cancel := s.op(ctx)
	defer cancel()
	r, err := s.finish(ctx, id, c, webhookLease, nil)
	if errors.Is(err, tryon.ErrNotFound) && c.Readmit != nil && c.Readmit.ID == id {
		r, err = s.finish(ctx, id, c, webhookLease, c.Readmit)
	}
	return r, err
}

// finish is FinishGeneration's round trip, readmitting first when readmit
// is set.
func (s *Store) finish(ctx context.Context, id uuid.UUID, c tryon.Completion, webhookLease time.Duration, readmit *tryon.Admission) (*tryon.FinishResult, error) {
	var url, ctype, code, msg *string
	var w, h *int
	var size, retry *int64
	if o := c.Output(); o != nil {
		url, ctype, w, h, size = &o.URL, &o.ContentType, &o.Width, &o.Height, &o.Bytes
	}
	if e := c.Error; e != nil {
		codeStr := string(e.Code)
		code, msg = &codeStr, &e.Message
	}
	if c.RetryAfter > 0 {
		ms := c.RetryAfter.Milliseconds()
		retry = &ms
	}
	b := &pgx.Batch{}
	if readmit != nil {
		queueReadmit(b, readmit)
	}
	timedOut := tryon.TimedOut()
	outputs := c.Outputs
	if outputs == nil {
		outputs = []tryon.Output{}
	}
	b.Queue(`SELECT finished, delivery_id, credits_remaining FROM tryon_finish($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		id, c.Succeeded, url, ctype, w, h, size, code, msg, retry, webhookLease.Milliseconds(), string(timedOut.Code), timedOut.Message,
		outputs)
	staging := false
	if first := c.Output(); first != nil && len(c.Staged) > 0 {
		staging = true
		tokens, types, data := make([]string, len(c.Staged)), make([]string, len(c.Staged)), make([][]byte, len(c.Staged))
		for i, st := range c.Staged {
			tokens[i], types[i], data[i] = st.Token, st.ContentType, st.Data
		}
		// A batch is one implicit transaction: the outputs are stored with
		// the success they belong to, and only if that success was
		// recorded (see tryon_store_outputs).
		b.Queue(`SELECT tryon_store_outputs($1, $2, $3, $4, $5)`, id, first.URL, tokens, types, data)
	}
	b.Queue(generationRow, id, nil)
	res := s.pool.SendBatch(ctx, b)
	defer res.Close()
	var r tryon.FinishResult
	if readmit != nil {
		if err := res.QueryRow().Scan(&r.Readmitted); err != nil {
			return nil, translateSettlement(err)
		}
	}
	var credits *int64
	if err := res.QueryRow().Scan(&r.Finished, &r.DeliveryID, &credits); err != nil {
		return nil, translateSettlement(err)
	}
	if staging {
		if _, err := res.Exec(); err != nil {
			return nil, translate(err, "store output")
		}
	}
	g, err := scanGeneration(res.QueryRow())
	if err != nil {
		return nil, translate(err, "finish generation")
	}
	r.Generation = g
	if credits != nil {
		m := tryon.Micros(*credits)
		r.CreditsRemaining = &m
	}
	return &r, nil
}

// translateSettlement translates an error of tryon_finish. Settlement takes
// no input from a client, so a constraint or data error there is a broken
// invariant of ours (a balance that cannot cover what it reserved, say):
// an internal error with its cause, never a client's invalid request.
func translateSettlement(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "23") || strings.HasPrefix(pgErr.Code, "22")) {
		return fmt.Errorf("finish generation: %w", err)
	}
	return translate(err, "finish generation")
}
