package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/store"
)

// nullTime scans a timestamp stored either as Unix microseconds (SQLite) or as a time (PostgreSQL).
type nullTime struct {
	Time  time.Time
	Valid bool
}

func (t *nullTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		t.Valid = false
	case int64:
		t.Time, t.Valid = time.UnixMicro(v).UTC(), true
	case time.Time:
		t.Time, t.Valid = v.UTC(), true
	case []byte:
		return t.Scan(string(v))
	case string:
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return fmt.Errorf("scan time %q: %w", v, err)
		}
		t.Time, t.Valid = time.UnixMicro(n).UTC(), true
	default:
		return fmt.Errorf("scan time: unsupported type %T", src)
	}
	return nil
}

func (t nullTime) ptr() *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

// nullString scans NULL as "".
type nullString string

func (s *nullString) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s = ""
	case string:
		*s = nullString(v)
	case []byte:
		*s = nullString(v)
	default:
		return fmt.Errorf("scan string: unsupported type %T", src)
	}
	return nil
}

// rawJSON scans a JSON column, keeping NULL as nil.
type rawJSON json.RawMessage

func (j *rawJSON) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case string:
		*j = rawJSON(v)
	case []byte:
		*j = append((*j)[:0], v...)
	default:
		return fmt.Errorf("scan json: unsupported type %T", src)
	}
	return nil
}

// jsonArg passes JSON to the database as text, or NULL when empty.
func jsonArg(b []byte) driver.Value {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// marshalArg marshals v to a JSON argument; nil values become NULL.
func marshalArg(v any) (driver.Value, error) {
	if v == nil {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

const (
	limitDefault = 50
	limitMax     = 500
)

func pageLimit(n int) int {
	switch {
	case n <= 0:
		return limitDefault
	case n > limitMax:
		return limitMax
	}
	return n
}

// trimPage cuts a page read with one row more than limit back to limit and, when that extra row was
// there, sets the cursor of the next page from the last row kept.
func trimPage[T any](page *store.Page[T], limit int, cursor func(T) string) {
	if len(page.Items) > limit {
		page.Items = page.Items[:limit]
		page.NextCursor = cursor(page.Items[limit-1])
	}
}

// A cursor is opaque to clients: base64url of "key|id".
func encodeCursor(key, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(key + "|" + id))
}

// ErrBadCursor is returned for a cursor this store did not produce.
var ErrBadCursor = store.ErrBadCursor

func decodeCursor(c string) (key, id string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", "", ErrBadCursor
	}
	key, id, ok := strings.Cut(string(b), "|")
	if !ok || id == "" || checkText("cursor", string(b)) != nil {
		return "", "", ErrBadCursor
	}
	return key, id, nil
}

// queryPage runs a list query that asks for one row more than limit, scans each row with scan and
// trims the page to limit, its next cursor made from the last item kept. what names the list in errors.
func queryPage[T any](ctx context.Context, s *Store, what string, limit int, scan func(*sql.Rows) (T, error), cursor func(T) string,
	query string, args ...any,
) (*store.Page[T], error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	defer rows.Close()
	page := &store.Page[T]{Items: make([]T, 0, min(limit, 64))}
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", what, err)
		}
		page.Items = append(page.Items, item)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list %s: %w", what, err)
	}
	trimPage(page, limit, cursor)
	return page, nil
}
