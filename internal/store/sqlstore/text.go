package sqlstore

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/concertmaster/concertmaster/internal/store"
)

// checkText refuses values that no store can keep in a text column: PostgreSQL rejects a NUL
// character and invalid UTF-8 ("invalid byte sequence for encoding UTF8"), so both stores refuse
// them alike, with store.ErrInvalidInput, before any statement runs. It takes name/value pairs.
// JSON values need no check: a NUL inside a JSON string is the escape \u0000, which both keep.
func checkText(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		name, v := pairs[i], pairs[i+1]
		switch {
		case strings.IndexByte(v, 0) >= 0:
			return fmt.Errorf("%s holds a NUL character: %w", name, store.ErrInvalidInput)
		case !utf8.ValidString(v):
			return fmt.Errorf("%s is not valid UTF-8: %w", name, store.ErrInvalidInput)
		}
	}
	return nil
}

// checkRoutes checks the text of webhook routes.
func checkRoutes(routes []store.WebhookRoute) error {
	for _, r := range routes {
		if err := checkText("webhook method", r.Method, "webhook path", r.Path, "webhook node id", r.NodeID, "webhook respond mode", r.Respond); err != nil {
			return err
		}
	}
	return nil
}
