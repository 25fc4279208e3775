package tryon

import "time"

// Retention bounds how long a tenant's outputs are kept, in days: 30 unless
// the tenant sets otherwise (`tryon client set-retention`). Outputs are
// photos of real people; FASHN keeps its for 72 hours, Replicate for one.
const (
	DefaultRetentionDays = 30
	MinRetentionDays     = 1
	MaxRetentionDays     = 3650
)

// Retention is what a generation says about the life of its outputs.
type Retention struct {
	// ExpiresAt is when a succeeded generation's outputs will be deleted
	// (completed_at plus the tenant's retention_days, as it is now); nil
	// once they are gone, and for generations without outputs.
	ExpiresAt *time.Time
	// ExpiredAt is when its outputs were deleted, by retention or erasure.
	ExpiredAt *time.Time
	// ErasedAt is when it was erased (DELETE /generate/:id or
	// `tryon client erase`): outputs, prompt and metadata all gone.
	ErasedAt *time.Time
}
