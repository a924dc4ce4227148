package store

// SetPageSize makes Scan read n rows per query, so tests cross page
// boundaries with few events.
func (s *Store) SetPageSize(n int) { s.page = n }
