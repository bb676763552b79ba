package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// CreateTenant implements store.Store.
func (s *Store) CreateTenant(ctx context.Context, id, name string) error {
	if err := checkText("tenant id", id, "tenant name", name); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		_, err := tx.exec(ctx, (`INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)`), id, name, s.t(s.now().UTC()))
		if err != nil && s.d.IsUniqueViolation(err) {
			return fmt.Errorf("tenant %s: %w", id, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("create tenant: %w", err)
		}
		return nil
	})
}

const workflowColumns = `tenant_id, id, name, description, active, version, node_count, created_at, updated_at, tags`

func scanWorkflow(row interface{ Scan(...any) error }, def *[]byte) (*store.Workflow, error) {
	var w store.Workflow
	var created, updated nullTime
	var tags string
	dest := []any{&w.TenantID, &w.ID, &w.Name, &w.Description, &w.Active, &w.Version, &w.NodeCount, &created, &updated, &tags}
	if def != nil {
		dest = append(dest, def)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	w.CreatedAt, w.UpdatedAt = created.Time, updated.Time
	if err := json.Unmarshal([]byte(tags), &w.Tags); err != nil {
		return nil, fmt.Errorf("decode tags of workflow %s: %w", w.ID, err)
	}
	return &w, nil
}

// tagsJSON is the tags column of a definition: its tags as a JSON array, [] when it has none.
func tagsJSON(def *workflow.Definition) (string, error) {
	if len(def.Tags) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(def.Tags)
	if err != nil {
		return "", fmt.Errorf("marshal tags: %w", err)
	}
	return string(b), nil
}

// CreateWorkflow implements store.Store.
func (s *Store) CreateWorkflow(ctx context.Context, tenantID, id string, def *workflow.Definition) (*store.Workflow, error) {
	if err := checkText("tenant id", tenantID, "workflow id", id, "workflow name", def.Name, "workflow description", def.Description); err != nil {
		return nil, err
	}
	body, err := json.Marshal(def)
	if err != nil {
		return nil, fmt.Errorf("marshal definition: %w", err)
	}
	tags, err := tagsJSON(def)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	err = s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		if _, err := tx.exec(ctx, (`INSERT INTO workflows (tenant_id, id, name, description, active, version, node_count, definition, created_at, updated_at, tags)
			VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)`),
			tenantID, id, def.Name, def.Description, false, len(def.Nodes), string(body), s.t(now), s.t(now), tags); err != nil {
			if s.d.IsUniqueViolation(err) {
				return fmt.Errorf("workflow %s already exists: %w", id, store.ErrConflict)
			}
			return fmt.Errorf("insert workflow: %w", err)
		}
		if def.Settings.Retention != nil {
			if err := s.setRetention(ctx, tx, tenantID, id, def); err != nil {
				return err
			}
		}
		return s.insertVersion(ctx, tx, tenantID, id, 1, body, now)
	})
	if err != nil {
		return nil, err
	}
	return &store.Workflow{TenantID: tenantID, ID: id, Name: def.Name, Description: def.Description, Version: 1,
		NodeCount: len(def.Nodes), Tags: def.Tags, Definition: *def, CreatedAt: now, UpdatedAt: now}, nil
}

func (s *Store) insertVersion(ctx context.Context, tx *wtx, tenantID, id string, version int, body []byte, now time.Time) error {
	_, err := tx.exec(ctx, (`INSERT INTO workflow_versions (tenant_id, workflow_id, version, definition, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?)`),
		tenantID, id, version, string(body), s.t(now), store.ActorFrom(ctx))
	if err != nil {
		return fmt.Errorf("insert workflow version: %w", err)
	}
	return nil
}

// GetWorkflow implements store.Store.
func (s *Store) GetWorkflow(ctx context.Context, tenantID, id string) (*store.Workflow, error) {
	if err := checkText("tenant id", tenantID, "workflow id", id); err != nil {
		return nil, err
	}
	var body []byte
	row := s.queryRow(ctx, (`SELECT ` + workflowColumns + `, definition FROM workflows WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL`), tenantID, id)
	w, err := scanWorkflow(row, &body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("workflow %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get workflow: %w", err)
	}
	if err := json.Unmarshal(body, &w.Definition); err != nil {
		return nil, fmt.Errorf("decode workflow %s: %w", id, err)
	}
	return w, nil
}

// ListWorkflows implements store.Store.
func (s *Store) ListWorkflows(ctx context.Context, tenantID string, params store.ListWorkflowsParams) (*store.Page[store.Workflow], error) {
	if err := checkText("tenant id", tenantID, "name filter", params.Name); err != nil {
		return nil, err
	}
	limit := pageLimit(params.Limit)
	var where strings.Builder
	args := []any{tenantID}
	where.WriteString(`tenant_id = ? AND deleted_at IS NULL`)
	if params.Name != "" {
		where.WriteString(` AND LOWER(name) LIKE ? ESCAPE '\'`)
		args = append(args, "%"+escapeLike(strings.ToLower(params.Name))+"%")
	}
	if params.Tag != "" {
		// A tag never holds a quote or a backslash (workflow.TagPattern), so "tag" appears quoted in
		// the JSON array exactly when the workflow carries it.
		if !workflow.TagPattern.MatchString(params.Tag) {
			return &store.Page[store.Workflow]{}, nil
		}
		where.WriteString(` AND LOWER(tags) LIKE ? ESCAPE '\'`)
		args = append(args, `%"`+escapeLike(strings.ToLower(params.Tag))+`"%`)
	}
	if params.Cursor != "" {
		key, id, err := decodeCursor(params.Cursor)
		if err != nil {
			return nil, err
		}
		micros, err := strconv.ParseInt(key, 10, 64)
		if err != nil {
			return nil, ErrBadCursor
		}
		at := s.t(time.UnixMicro(micros).UTC())
		where.WriteString(` AND (updated_at, id) < (?, ?)`)
		args = append(args, at, id)
	}
	args = append(args, limit+1)
	return queryPage(ctx, s, "workflows", limit,
		func(rows *sql.Rows) (store.Workflow, error) {
			w, err := scanWorkflow(rows, nil)
			if err != nil {
				return store.Workflow{}, err
			}
			return *w, nil
		},
		func(w store.Workflow) string {
			return encodeCursor(strconv.FormatInt(w.UpdatedAt.UnixMicro(), 10), w.ID)
		},
		`SELECT `+workflowColumns+` FROM workflows WHERE `+where.String()+` ORDER BY updated_at DESC, id DESC LIMIT ?`, args...)
}

// ListWorkflowTags implements store.Store.
func (s *Store) ListWorkflowTags(ctx context.Context, tenantID string) ([]store.TagCount, error) {
	if err := checkText("tenant id", tenantID); err != nil {
		return nil, err
	}
	rows, err := s.query(ctx, `SELECT tags FROM workflows WHERE tenant_id = ? AND deleted_at IS NULL AND tags <> '[]' LIMIT ?`,
		tenantID, store.MaxTaggedWorkflowsScanned)
	if err != nil {
		return nil, fmt.Errorf("list workflow tags: %w", err)
	}
	defer rows.Close()
	counts := map[string]*store.TagCount{}
	for rows.Next() {
		var raw string
		if err := rows.Scan(&raw); err != nil {
			return nil, fmt.Errorf("list workflow tags: %w", err)
		}
		var tags []string
		if err := json.Unmarshal([]byte(raw), &tags); err != nil {
			return nil, fmt.Errorf("list workflow tags: decode %q: %w", raw, err)
		}
		for _, tag := range tags {
			// Tags differing only in case count as one, under the spelling that sorts first (so
			// that the answer does not depend on the order rows come in).
			key := strings.ToLower(tag)
			if c, ok := counts[key]; ok {
				c.Count++
				c.Tag = min(c.Tag, tag)
			} else {
				counts[key] = &store.TagCount{Tag: tag, Count: 1}
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list workflow tags: %w", err)
	}
	out := make([]store.TagCount, 0, len(counts))
	for _, c := range counts {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b store.TagCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(strings.ToLower(a.Tag), strings.ToLower(b.Tag)))
	})
	return out, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// UpdateWorkflow implements store.Store.
func (s *Store) UpdateWorkflow(ctx context.Context, tenantID, id string, expectedVersion int, def *workflow.Definition, routes []store.WebhookRoute, schedules []store.Schedule) (*store.Workflow, error) {
	if err := checkText("tenant id", tenantID, "workflow id", id, "workflow name", def.Name, "workflow description", def.Description); err != nil {
		return nil, err
	}
	if err := checkRoutes(routes); err != nil {
		return nil, err
	}
	if err := checkSchedules(schedules); err != nil {
		return nil, err
	}
	body, err := json.Marshal(def)
	if err != nil {
		return nil, fmt.Errorf("marshal definition: %w", err)
	}
	tags, err := tagsJSON(def)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	var out *store.Workflow
	err = s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		res, err := tx.exec(ctx, (`UPDATE workflows SET name = ?, description = ?, version = version + 1, node_count = ?, definition = ?, updated_at = ?, tags = ?
			WHERE tenant_id = ? AND id = ? AND version = ? AND deleted_at IS NULL`),
			def.Name, def.Description, len(def.Nodes), string(body), s.t(now), tags, tenantID, id, expectedVersion)
		if err != nil {
			return fmt.Errorf("update workflow: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var current int
			err := tx.queryRow(ctx, (`SELECT version FROM workflows WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL`), tenantID, id).Scan(&current)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("workflow %s: %w", id, store.ErrNotFound)
			}
			if err != nil {
				return fmt.Errorf("update workflow: %w", err)
			}
			return fmt.Errorf("workflow %s is at version %d, not %d: %w", id, current, expectedVersion, store.ErrVersionMismatch)
		}
		if err := s.insertVersion(ctx, tx, tenantID, id, expectedVersion+1, body, now); err != nil {
			return err
		}
		if err := s.setRetention(ctx, tx, tenantID, id, def); err != nil {
			return err
		}
		row := tx.queryRow(ctx, (`SELECT ` + workflowColumns + ` FROM workflows WHERE tenant_id = ? AND id = ?`), tenantID, id)
		w, err := scanWorkflow(row, nil)
		if err != nil {
			return fmt.Errorf("read updated workflow: %w", err)
		}
		if w.Active {
			if err := s.replaceRoutes(ctx, tx, tenantID, id, w.Version, routes); err != nil {
				return err
			}
			if err := s.replaceSchedules(ctx, tx, tenantID, id, w.Version, schedules); err != nil {
				return err
			}
		}
		w.Definition = *def
		out = w
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteWorkflow implements store.Store.
func (s *Store) DeleteWorkflow(ctx context.Context, tenantID, id string) error {
	if err := checkText("tenant id", tenantID, "workflow id", id); err != nil {
		return err
	}
	return s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		res, err := tx.exec(ctx, (`UPDATE workflows SET deleted_at = ?, active = ? WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL`),
			s.t(s.now().UTC()), false, tenantID, id)
		if err != nil {
			return fmt.Errorf("delete workflow: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("workflow %s: %w", id, store.ErrNotFound)
		}
		if err := s.replaceRoutes(ctx, tx, tenantID, id, 0, nil); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM workflow_pins WHERE tenant_id = ? AND workflow_id = ?`, tenantID, id); err != nil {
			return fmt.Errorf("delete workflow pins: %w", err)
		}
		return s.replaceSchedules(ctx, tx, tenantID, id, 0, nil)
	})
}

// ListWorkflowVersions implements store.Store.
func (s *Store) ListWorkflowVersions(ctx context.Context, tenantID, id string, params store.ListVersionsParams) (*store.Page[store.WorkflowVersion], error) {
	if err := checkText("tenant id", tenantID, "workflow id", id); err != nil {
		return nil, err
	}
	// A deleted workflow keeps its row (deleted_at is set), and its versions stay readable.
	var exists int
	err := s.queryRow(ctx, (`SELECT 1 FROM workflows WHERE tenant_id = ? AND id = ?`), tenantID, id).Scan(&exists)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("workflow %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("list workflow versions: %w", err)
	}
	limit := pageLimit(params.Limit)
	args := []any{tenantID, id}
	cond := ""
	if params.Cursor != "" {
		key, _, err := decodeCursor(params.Cursor)
		if err != nil {
			return nil, err
		}
		v, err := strconv.Atoi(key)
		if err != nil {
			return nil, ErrBadCursor
		}
		cond = ` AND version < ?`
		args = append(args, v)
	}
	args = append(args, limit+1)
	// Definitions stay out of lists (up to 4 MiB each): GetWorkflowVersion reads one.
	return queryPage(ctx, s, "workflow versions", limit,
		func(rows *sql.Rows) (store.WorkflowVersion, error) {
			var v store.WorkflowVersion
			var created nullTime
			err := rows.Scan(&v.WorkflowID, &v.Version, &created, &v.CreatedBy)
			v.CreatedAt = created.Time
			return v, err
		},
		func(v store.WorkflowVersion) string { return encodeCursor(strconv.Itoa(v.Version), v.WorkflowID) },
		`SELECT workflow_id, version, created_at, created_by FROM workflow_versions
		WHERE tenant_id = ? AND workflow_id = ?`+cond+` ORDER BY version DESC LIMIT ?`, args...)
}

func scanVersion(row interface{ Scan(...any) error }) (*store.WorkflowVersion, error) {
	var v store.WorkflowVersion
	var body []byte
	var created nullTime
	if err := row.Scan(&v.WorkflowID, &v.Version, &body, &created, &v.CreatedBy); err != nil {
		return nil, err
	}
	v.CreatedAt = created.Time
	if err := json.Unmarshal(body, &v.Definition); err != nil {
		return nil, fmt.Errorf("decode version %d: %w", v.Version, err)
	}
	return &v, nil
}

// GetWorkflowVersion implements store.Store.
func (s *Store) GetWorkflowVersion(ctx context.Context, tenantID, id string, version int) (*store.WorkflowVersion, error) {
	if err := checkText("tenant id", tenantID, "workflow id", id); err != nil {
		return nil, err
	}
	row := s.queryRow(ctx, (`SELECT workflow_id, version, definition, created_at, created_by FROM workflow_versions WHERE tenant_id = ? AND workflow_id = ? AND version = ?`),
		tenantID, id, version)
	v, err := scanVersion(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("workflow %s version %d: %w", id, version, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get workflow version: %w", err)
	}
	return v, nil
}

// SetWorkflowActive implements store.Store.
func (s *Store) SetWorkflowActive(ctx context.Context, tenantID, id string, active bool, routes []store.WebhookRoute, schedules []store.Schedule) (*store.Workflow, error) {
	if err := checkText("tenant id", tenantID, "workflow id", id); err != nil {
		return nil, err
	}
	if err := checkRoutes(routes); err != nil {
		return nil, err
	}
	if err := checkSchedules(schedules); err != nil {
		return nil, err
	}
	var out *store.Workflow
	err := s.write(ctx, func(ctx context.Context, tx *wtx, _ *txHooks) error {
		res, err := tx.exec(ctx, (`UPDATE workflows SET active = ? WHERE tenant_id = ? AND id = ? AND deleted_at IS NULL`), active, tenantID, id)
		if err != nil {
			return fmt.Errorf("set workflow active: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("workflow %s: %w", id, store.ErrNotFound)
		}
		if !active {
			routes, schedules = nil, nil
		}
		var body []byte
		row := tx.queryRow(ctx, `SELECT `+workflowColumns+`, definition FROM workflows WHERE tenant_id = ? AND id = ?`, tenantID, id)
		w, err := scanWorkflow(row, &body)
		if err != nil {
			return fmt.Errorf("read workflow: %w", err)
		}
		if err := s.replaceRoutes(ctx, tx, tenantID, id, w.Version, routes); err != nil {
			return err
		}
		if err := s.replaceSchedules(ctx, tx, tenantID, id, w.Version, schedules); err != nil {
			return err
		}
		if err := json.Unmarshal(body, &w.Definition); err != nil {
			return fmt.Errorf("decode workflow %s: %w", id, err)
		}
		out = w
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) replaceRoutes(ctx context.Context, tx *wtx, tenantID, id string, version int, routes []store.WebhookRoute) error {
	if _, err := tx.exec(ctx, (`DELETE FROM webhook_routes WHERE tenant_id = ? AND workflow_id = ?`), tenantID, id); err != nil {
		return fmt.Errorf("delete webhook routes: %w", err)
	}
	for _, r := range routes {
		var ownerTenant, owner string
		err := tx.queryRow(ctx, (`SELECT tenant_id, workflow_id FROM webhook_routes WHERE method = ? AND path = ?`), r.Method, r.Path).Scan(&ownerTenant, &owner)
		switch {
		case err == nil:
			if ownerTenant != tenantID {
				// Paths are unique across the server: say it is taken, never by whom.
				owner = ""
			}
			return &store.RouteConflictError{Method: r.Method, Path: r.Path, WorkflowID: owner}
		case !errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("check webhook route: %w", err)
		}
		if _, err := tx.exec(ctx, `INSERT INTO webhook_routes (method, path, tenant_id, workflow_id, node_id, respond, version) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			r.Method, r.Path, tenantID, id, r.NodeID, r.Respond, version); err != nil {
			if s.d.IsUniqueViolation(err) {
				// Taken meanwhile by a concurrent transaction (PostgreSQL), possibly of another tenant.
				return &store.RouteConflictError{Method: r.Method, Path: r.Path}
			}
			return fmt.Errorf("insert webhook route: %w", err)
		}
	}
	return nil
}

// LookupWebhook implements store.Store.
func (s *Store) LookupWebhook(ctx context.Context, method, path string) (*store.WebhookRoute, error) {
	if err := checkText("webhook method", method, "webhook path", path); err != nil {
		return nil, err
	}
	r := store.WebhookRoute{Method: method, Path: path}
	err := s.queryRow(ctx, `SELECT tenant_id, workflow_id, node_id, respond, version FROM webhook_routes WHERE method = ? AND path = ?`, method, path).
		Scan(&r.TenantID, &r.WorkflowID, &r.NodeID, &r.Respond, &r.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("webhook %s %s: %w", method, path, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("lookup webhook: %w", err)
	}
	return &r, nil
}

// scanWorkflows reads workflows with their definitions.
func (s *Store) scanWorkflows(ctx context.Context, what, query string, args ...any) ([]store.Workflow, error) {
	rows, err := s.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []store.Workflow
	for rows.Next() {
		var body []byte
		w, err := scanWorkflow(rows, &body)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if err := json.Unmarshal(body, &w.Definition); err != nil {
			return nil, fmt.Errorf("%s: decode workflow %s: %w", what, w.ID, err)
		}
		out = append(out, *w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// FindWorkflows implements store.Store.
func (s *Store) FindWorkflows(ctx context.Context, tenantID, contains string, limit int) ([]store.Workflow, error) {
	if err := checkText("tenant id", tenantID, "search text", contains); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	def := "definition"
	if s.d.Name == "postgres" {
		def = "definition::text"
	}
	return s.scanWorkflows(ctx, "find workflows", `SELECT `+workflowColumns+`, definition FROM workflows
		WHERE tenant_id = ? AND deleted_at IS NULL AND `+def+` LIKE ? ESCAPE '\' ORDER BY name, id LIMIT ?`,
		tenantID, "%"+escapeLike(contains)+"%", limit)
}

// ActiveWorkflowsAfter implements store.Store.
func (s *Store) ActiveWorkflowsAfter(ctx context.Context, tenantID, id string, limit int) ([]store.Workflow, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	return s.scanWorkflows(ctx, "list active workflows", `SELECT `+workflowColumns+`, definition FROM workflows
		WHERE active AND deleted_at IS NULL AND (tenant_id > ? OR (tenant_id = ? AND id > ?)) ORDER BY tenant_id, id LIMIT ?`,
		tenantID, tenantID, id, limit)
}
