package plugin

// FetchError is a request the host refused or could not make.
type FetchError struct{ Message string }

func (e *FetchError) Error() string { return "fetch: " + e.Message }
