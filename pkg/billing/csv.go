package billing

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// CSVHeader names the export's columns.
var CSVHeader = []string{"generation_id", "created_at", "billed_at", "service", "mode", "provider", "model", "amount_micros"}

// WriteCSV writes every billable generation of a tenant's month as CSV,
// header first, streaming rows as the database returns them.
func (s *Statements) WriteCSV(ctx context.Context, w io.Writer, clientID uuid.UUID, m Month) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	err := s.Store.EachBillableGeneration(ctx, clientID, m.Start(), m.End(), func(g BillableGeneration) error {
		return cw.Write([]string{
			g.GenerationID.String(), g.CreatedAt.UTC().Format(time.RFC3339Nano), g.BilledAt.UTC().Format(time.RFC3339Nano),
			string(g.Service), string(g.Mode), g.Provider, g.Model, strconv.FormatInt(int64(g.AmountMicros), 10),
		})
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}
