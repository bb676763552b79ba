package api

import (
	"github.com/concertmaster/concertmaster/internal/store"
)

// access is who may call an operation: anyone (public), or a principal of at least a role; some
// operations are for people only (an API key is refused), and some streams also accept a
// single-use ticket in ?ticket= (EventSource cannot send headers).
type access struct {
	public   bool
	min      store.Role
	userOnly bool
	ticket   bool
}

var (
	public   = access{public: true}
	viewer   = access{min: store.RoleViewer}
	editor   = access{min: store.RoleEditor}
	admin    = access{min: store.RoleAdmin}
	user     = access{min: store.RoleViewer, userOnly: true}
	stream   = access{min: store.RoleViewer, ticket: true}
	adminRaw = admin
)

// policy is the one table that says who may call each operation, by operation id: every operation of
// the OpenAPI document has an entry (TestPolicyCoversEveryOperation), and the authorize middleware
// refuses an operation without one. Routes outside huma (the WebSocket, the SSE streams, webhooks)
// check the same table by their documented operation id.
var policy = map[string]access{
	// Operations and documents.
	"healthz": public,
	"readyz":  public,
	"metrics": public,

	// Identity: signing in is public; setup is public only while no user exists (the use case refuses
	// it afterwards).
	"get-setup-status": public,
	"setup":            public,
	"login":            public,
	"refresh-session":  public,
	"logout":           public,
	"get-me":           viewer,
	"switch-workspace": user,
	"create-ticket":    user,
	"change-password":  user,
	"create-workspace": user,
	"list-members":     admin,
	"add-member":       admin,
	"update-member":    admin,
	"remove-member":    admin,
	"list-api-keys":    admin,
	"create-api-key":   admin,
	"revoke-api-key":   admin,
	"list-audit":       admin,
	"export-audit":     adminRaw,

	// Node types.
	"list-node-types": viewer,
	"get-node-type":   viewer,

	// Plugins: anyone may see them (the editor's palette shows their state); a rescan is an admin's.
	"list-plugins":   viewer,
	"reload-plugins": admin,

	// Workflows.
	"list-workflows":         viewer,
	"get-workflow":           viewer,
	"list-workflow-versions": viewer,
	"list-workflow-tags":     viewer,
	"get-workflow-version":   viewer,
	"validate-workflow":      editor,
	"create-workflow":        editor,
	"update-workflow":        editor,
	"delete-workflow":        editor,
	"activate-workflow":      editor,
	"deactivate-workflow":    editor,
	// Pinned outputs: read with the workflow; pinning changes what test runs do.
	"list-pins":          viewer,
	"pin-output":         editor,
	"unpin-output":       editor,
	"pin-from-execution": editor,

	// Templates: the gallery is public to the workspace; instantiating creates a workflow.
	"list-templates":       viewer,
	"get-template":         viewer,
	"instantiate-template": editor,
	// Expressions: a preview runs user code against a run's data, as saving and running would.
	"evaluate-expression":       editor,
	"list-expression-functions": viewer,
	// Schedules: reads, though the preview is a POST (its body is the expression).
	"list-workflow-schedules": viewer,
	"preview-schedule":        viewer,

	// Credentials: anyone in the workspace sees that they exist (never their secrets); editors manage
	// them, as they manage the workflows that use them.
	"list-credential-types": viewer,
	"list-credentials":      viewer,
	"get-credential":        viewer,
	"create-credential":     editor,
	"update-credential":     editor,
	"delete-credential":     editor,
	"test-credential":       editor,
	// Executions.
	"run-workflow":             editor,
	"start-test-run":           editor,
	"cancel-execution":         editor,
	"approve-execution-node":   editor,
	"reject-execution-node":    editor,
	"retry-execution":          editor,
	"list-executions":          viewer,
	"get-execution":            viewer,
	"list-execution-events":    stream,
	"list-execution-node-runs": viewer,
	"get-execution-input":      viewer,
	"get-execution-output":     viewer,
	"get-node-run-input":       viewer,
	"get-node-run-output":      viewer,
	"get-node-run-logs":        viewer,
	"get-node-run-error":       viewer,
	"live-websocket":           viewer,
	"stream-workflow-events":   stream,
	"stream-events":            stream,

	// Webhooks are public by design: their paths are unguessable and each may require a shared
	// secret or a signature.
	"webhook-get":    public,
	"webhook-post":   public,
	"webhook-put":    public,
	"webhook-patch":  public,
	"webhook-delete": public,
	// Resume URLs carry an HMAC token bound to the execution.
	"resume-get":  public,
	"resume-post": public,
}
