package tryon

// StagedOutput is an output whose bytes are written by the transaction
// that records the generation's success, rather than in a round trip and a
// commit of their own: what a Stager returns.
type StagedOutput struct {
	Token       string
	ContentType string
	Data        []byte
}

// Stager is a Storage that lives in the database itself: it names an
// output's URL at once and leaves the writing to the finishing transaction
// (Completion.Staged), which stores it only if the success is recorded.
type Stager interface {
	Stage(name, contentType string, data []byte) (url string, staged *StagedOutput, err error)
}
