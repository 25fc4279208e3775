package httpapi

import (
	"encoding/json"

	"github.com/tryonhq/tryon/pkg/billing"
	"github.com/tryonhq/tryon/pkg/tryon"
	"github.com/tryonhq/tryon/pkg/wire"
)

// statementData is GET /billing/statement's JSON answer (public/openapi.json,
// Statement). Amounts are micro-dollars; the month runs in UTC.
type statementData struct {
	ClientID             string            `json:"client_id"`
	ClientName           string            `json:"client_name"`
	Month                string            `json:"month"`
	From                 string            `json:"from"`
	To                   string            `json:"to"`
	Currency             string            `json:"currency"`
	Lines                []statementLine   `json:"lines"`
	Adjustments          []statementCredit `json:"adjustments"`
	Generations          int64             `json:"generations"`
	UsageMicros          int64             `json:"usage_micros"`
	CreditsMicros        int64             `json:"credits_micros"`
	OpeningBalanceMicros *int64            `json:"opening_balance_micros"`
	ClosingBalanceMicros *int64            `json:"closing_balance_micros"`
}

type statementLine struct {
	Service         tryon.Service `json:"service"`
	Mode            tryon.Mode    `json:"mode"`
	UnitPriceMicros int64         `json:"unit_price_micros"`
	Count           int64         `json:"count"`
	AmountMicros    int64         `json:"amount_micros"`
}

type statementCredit struct {
	At                 string          `json:"at"`
	Kind               string          `json:"kind"`
	AmountMicros       int64           `json:"amount_micros"`
	BalanceAfterMicros *int64          `json:"balance_after_micros"`
	Reason             string          `json:"reason"`
	Details            json.RawMessage `json:"details"`
}

func statementOf(st *billing.Statement) statementData {
	out := statementData{
		ClientID: st.ClientID.String(), ClientName: st.ClientName, Month: st.Month.String(),
		From: wire.Time(st.Month.Start()), To: wire.Time(st.Month.End()), Currency: tryon.Currency,
		Lines: make([]statementLine, 0, len(st.Lines)), Adjustments: make([]statementCredit, 0, len(st.Adjustments)),
		Generations: st.Generations, UsageMicros: int64(st.UsageMicros), CreditsMicros: int64(st.CreditsMicros),
		OpeningBalanceMicros: int64OrNil(st.OpeningBalance), ClosingBalanceMicros: int64OrNil(st.ClosingBalance),
	}
	for _, l := range st.Lines {
		out.Lines = append(out.Lines, statementLine{Service: l.Service, Mode: l.Mode, UnitPriceMicros: int64(l.UnitPriceMicros),
			Count: l.Count, AmountMicros: int64(l.AmountMicros)})
	}
	for _, a := range st.Adjustments {
		details := a.Details
		if len(details) == 0 {
			details = json.RawMessage("{}")
		}
		out.Adjustments = append(out.Adjustments, statementCredit{At: wire.Time(a.At), Kind: a.Kind, AmountMicros: int64(a.AmountMicros),
			BalanceAfterMicros: int64OrNil(a.BalanceAfter), Reason: a.Reason, Details: details})
	}
	return out
}

func int64OrNil(m *tryon.Micros) *int64 {
	if m == nil {
		return nil
	}
	v := int64(*m)
	return &v
}
