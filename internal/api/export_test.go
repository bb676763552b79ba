package api

// PolicyIDs returns the operation ids of the policy table, for tests.
func PolicyIDs() []string {
	ids := make([]string, 0, len(policy))
	for id := range policy {
		ids = append(ids, id)
	}
	return ids
}
