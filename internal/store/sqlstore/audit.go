package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/concertmaster/concertmaster/internal/store"
)

// prepareAudit checks entries and fills in their ids and times.
func (s *Store) prepareAudit(entries []store.AuditEntry) error {
	for i := range entries {
		e := &entries[i]
		if err := checkText("audit tenant id", e.TenantID, "audit id", e.ID, "audit actor", e.Actor, "audit action", e.Action,
			"audit target type", e.TargetType, "audit target id", e.TargetID, "audit ip", e.IP, "audit user agent", e.UserAgent); err != nil {
			return err
		}
		if err := required("audit actor", e.Actor, "audit action", e.Action); err != nil {
			return err
		}
		if len(e.Details) > 0 && !json.Valid(e.Details) {
			return fmt.Errorf("audit details are not valid JSON: %w", store.ErrInvalidInput)
		}
		if e.ID == "" {
			id, err := uuid.NewV7()
			if err != nil {
				return fmt.Errorf("audit id: %w", err)
			}
			e.ID = id.String()
		}
		if e.Time.IsZero() {
			e.Time = s.now()
		}
		e.Time = e.Time.UTC().Truncate(time.Microsecond)
	}
	return nil
}

// insertAudit inserts prepared entries in tx.
func (s *Store) insertAudit(ctx context.Context, tx *wtx, entries []store.AuditEntry) error {
	for _, e := range entries {
		_, err := tx.exec(ctx, `INSERT INTO audit_log (tenant_id, id, time, actor, action, target_type, target_id, ip, user_agent, details)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.TenantID, e.ID, s.t(e.Time), e.Actor, e.Action, e.TargetType, e.TargetID, e.IP, e.UserAgent, jsonArg(e.Details))
		if err != nil && s.d.IsUniqueViolation(err) {
			return fmt.Errorf("audit entry %s already exists: %w", e.ID, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("append audit entry: %w", err)
		}
	}
	return nil
}

// AppendAudit implements store.Identity.
func (s *Store) AppendAudit(ctx context.Context, entries ...store.AuditEntry) error {
	entries = append([]store.AuditEntry(nil), entries...)
	if err := s.prepareAudit(entries); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		return s.insertAudit(ctx, tx, entries)
	})
}

// ListAudit implements store.Identity.
func (s *Store) ListAudit(ctx context.Context, tenantID string, p store.ListAuditParams) (*store.Page[store.AuditEntry], error) {
	if err := checkText("tenant id", tenantID, "actor filter", p.Actor, "action filter", p.Action,
		"target type filter", p.TargetType, "target id filter", p.TargetID); err != nil {
		return nil, err
	}
	limit := pageLimit(p.Limit)
	var where strings.Builder
	where.WriteString(`tenant_id = ?`)
	args := []any{tenantID}
	for _, f := range []struct{ col, v string }{{"actor", p.Actor}, {"action", p.Action}, {"target_type", p.TargetType}, {"target_id", p.TargetID}} {
		if f.v != "" {
			where.WriteString(` AND ` + f.col + ` = ?`)
			args = append(args, f.v)
		}
	}
	if !p.Since.IsZero() {
		where.WriteString(` AND time >= ?`)
		args = append(args, s.t(p.Since.UTC()))
	}
	if !p.Until.IsZero() {
		where.WriteString(` AND time < ?`)
		args = append(args, s.t(p.Until.UTC()))
	}
	order, cmp := ` ORDER BY time DESC, id DESC`, `<`
	if p.Ascending {
		order, cmp = ` ORDER BY time, id`, `>`
	}
	if p.Cursor != "" {
		key, id, err := decodeCursor(p.Cursor)
		if err != nil {
			return nil, err
		}
		micros, err := strconv.ParseInt(key, 10, 64)
		if err != nil {
			return nil, ErrBadCursor
		}
		where.WriteString(` AND (time, id) ` + cmp + ` (?, ?)`)
		args = append(args, s.t(time.UnixMicro(micros).UTC()), id)
	}
	args = append(args, limit+1)
	return queryPage(ctx, s, "audit log", limit,
		func(rows *sql.Rows) (store.AuditEntry, error) {
			var e store.AuditEntry
			var at nullTime
			var details rawJSON
			err := rows.Scan(&e.TenantID, &e.ID, &at, &e.Actor, &e.Action, &e.TargetType, &e.TargetID, &e.IP, &e.UserAgent, &details)
			e.Time, e.Details = at.Time, json.RawMessage(details)
			return e, err
		},
		func(e store.AuditEntry) string { return encodeCursor(strconv.FormatInt(e.Time.UnixMicro(), 10), e.ID) },
		`SELECT tenant_id, id, time, actor, action, target_type, target_id, ip, user_agent, details
		FROM audit_log WHERE `+where.String()+order+` LIMIT ?`, args...)
}
