package sqlstore

// QueuedWrites returns how many writes wait for the group-commit writer, so that a test can line up
// a batch before letting the writer go.
func (s *Store) QueuedWrites() int { return len(s.batch) }
