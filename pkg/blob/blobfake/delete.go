package blobfake

// Deleted returns every URL the delete API was asked to delete, in order,
// across all delete requests (Deletes has them request by request).
func (s *Server) Deleted() []string {
	var out []string
	for _, d := range s.Deletes() {
		out = append(out, d.URLs...)
	}
	return out
}
