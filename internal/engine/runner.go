package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/expression"
	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/store"
	"github.com/concertmaster/concertmaster/internal/workflow"
	"github.com/concertmaster/concertmaster/internal/workflow/validate"
)

// shutdownGrace bounds how long a stopping run waits for its attempts to honour cancellation.
const shutdownGrace = 10 * time.Second

// nodeState is the runner's view of one node.
type nodeState struct {
	n       *validate.Node
	status  workflow.NodeRunStatus
	attempt int
	port    string
	output  any
	outJSON json.RawMessage
	// queued is true while the node sits in the ready queue.
	queued bool
	// wakeAt is when a waiting attempt resumes, or when a pending retry starts.
	wakeAt time.Time
	// dueAt keeps the wake-up time a waiting attempt asked for when a signal wakes it earlier: the
	// resumed attempt is told the time it asked for (its deadline), not the early one.
	dueAt        time.Time
	retryPending bool
	resume       bool
	cancel       context.CancelFunc
	startedAt    time.Time
	// held is what the node's output holds of the execution's memory budget.
	held int64
}

func (ns *nodeState) finished() bool {
	switch ns.status {
	case workflow.NodeRunSucceeded, workflow.NodeRunSkipped:
		return true
	case workflow.NodeRunFailed:
		return ns.port != "" && !ns.retryPending
	}
	return false
}

type runner struct {
	e     *Engine
	exec  *store.Execution
	owner string
	g     *validate.Graph
	nodes []*nodeState
	byID  map[string]*nodeState
	seq   int64
	batch store.ExecutionUpdate
	// effectEnded says the batch holds the end of an effectful attempt (see mustCheckpoint).
	effectEnded bool
	// runningPure counts the pure attempts running: while there are some, a result is due soon, and
	// the loop waits for it without writing first.
	runningPure int
	results     chan *attemptResult
	running     int
	ready       []*nodeState
	launch      []*attemptJob
	triggerData any
	start       *nodeState
	parallelism int
	deadline    time.Time
	firstStart  bool
	failure     *store.ExecutionError
	canceled    bool
	timedOut    bool
	execEnv     map[string]any
	wfEnv       map[string]any
	startedAt   time.Time
	// mem is the execution's memory budget: the outputs it holds and what running attempts build.
	mem *budget.Memory
	// draining is set when the run was asked to stop (a shutdown): no attempt starts, running ones
	// may finish until drainUntil.
	draining   bool
	drainUntil time.Time
	// stopNode is the flow.stop node that ended the run successfully.
	stopNode *nodeState
	host     HostProvider
}

func newRunner(ctx context.Context, e *Engine, exec *store.Execution, owner string, g *validate.Graph) (*runner, error) {
	r := &runner{
		e: e, exec: exec, owner: owner, g: g,
		byID:        make(map[string]*nodeState, len(g.Nodes)),
		seq:         exec.LastSeq,
		parallelism: g.Def.Settings.Parallelism(),
		firstStart:  exec.StartedAt == nil,
		mem:         budget.NewMemory(e.cfg.MaxExecutionBytes),
		host:        e.hostProvider(),
	}
	r.results = make(chan *attemptResult, r.parallelism)
	r.batch.ExecutionID = exec.ID
	if len(exec.Input) > 0 {
		if err := json.Unmarshal(exec.Input, &r.triggerData); err != nil {
			return nil, fmt.Errorf("decode execution input: %w", err)
		}
		r.mem.Hold(heldBytes(exec.Input))
	}
	started := e.now().UTC()
	if exec.StartedAt != nil {
		started = *exec.StartedAt
	}
	r.startedAt = started
	if t := g.Def.Settings.Timeout.Std(); t > 0 {
		r.deadline = started.Add(t)
	}
	r.execEnv = map[string]any{"id": exec.ID, "startedAt": started.Format(time.RFC3339Nano), "trigger": string(exec.TriggerKind)}
	r.wfEnv = map[string]any{"id": exec.WorkflowID, "name": g.Def.Name, "version": exec.WorkflowVersion}
	if exec.ParentExecutionID != "" {
		r.execEnv["parentId"] = exec.ParentExecutionID
	}

	for _, n := range g.Nodes {
		ns := &nodeState{n: n, status: workflow.NodeRunPending}
		r.nodes = append(r.nodes, ns)
		r.byID[n.Spec.ID] = ns
	}
	if exec.TriggerNode != "" {
		r.start = r.byID[exec.TriggerNode]
		if r.start == nil || !r.start.n.IsTrigger() {
			return nil, fmt.Errorf("execution %s starts at %q, which is not a trigger of version %d", exec.ID, exec.TriggerNode, exec.WorkflowVersion)
		}
	}
	runs, err := e.cfg.Store.ListNodeRuns(ctx, exec.TenantID, exec.ID)
	if err != nil {
		return nil, fmt.Errorf("load node runs: %w", err)
	}
	if err := r.restore(runs); err != nil {
		return nil, err
	}
	signals := false
	for _, ns := range r.nodes {
		if !ns.n.Type.Info.Signals {
			continue
		}
		signals = true
		if exec.WakeRequested && ns.status == workflow.NodeRunWaiting {
			// Woken by a signal: the node checks whether what it waits for has happened.
			ns.dueAt, ns.wakeAt = ns.wakeAt, e.now().UTC()
		}
	}
	if signals && r.host != nil {
		r.execEnv["resumeUrl"] = r.host.ResumeURL(exec)
	}
	return r, nil
}

// restore rebuilds node states from the persisted runs (the last attempt of each node wins).
func (r *runner) restore(runs []store.NodeRun) error {
	latest := map[string]*store.NodeRun{}
	for i := range runs {
		run := &runs[i]
		if prev, ok := latest[run.NodeID]; !ok || run.Attempt > prev.Attempt {
			latest[run.NodeID] = run
		}
	}
	now := r.e.now().UTC()
	for id, run := range latest {
		ns := r.byID[id]
		if ns == nil {
			continue
		}
		ns.attempt = run.Attempt
		switch run.Status {
		case workflow.NodeRunSucceeded, workflow.NodeRunFailed:
			ns.status, ns.port = run.Status, run.Port
			if run.Status == workflow.NodeRunFailed && run.WakeAt != nil {
				ns.retryPending, ns.wakeAt = true, *run.WakeAt
				continue
			}
			if len(run.Output) > 0 {
				ns.outJSON = run.Output
				if err := json.Unmarshal(run.Output, &ns.output); err != nil {
					return fmt.Errorf("decode output of %s: %w", id, err)
				}
				ns.held = heldBytes(run.Output)
				r.mem.Hold(ns.held)
			}
			if run.Status == workflow.NodeRunFailed && run.Port == "" {
				r.failure = nodeFailure(id, run.Error)
			}
		case workflow.NodeRunSkipped:
			ns.status = workflow.NodeRunSkipped
		case workflow.NodeRunWaiting:
			ns.status = workflow.NodeRunWaiting
			if run.WakeAt != nil {
				ns.wakeAt = *run.WakeAt
			}
		case workflow.NodeRunRunning:
			// The process running this attempt stopped without handing it back: it crashed or was
			// killed. Close the attempt and run the node again as a new attempt, unless it keeps
			// being found cut short, in which case it may be what brings the process down.
			// The closed attempt carries its retry (WakeAt, as a shutdown's does): should this process die
			// too before the new attempt is recorded, the next one retries the node rather than reading
			// the closed attempt as the node's final failure.
			crashes := 1 + crashesBefore(runs, id, run.Attempt)
			interrupted := store.NodeRun{NodeID: id, Attempt: run.Attempt, Status: workflow.NodeRunFailed, FinishedAt: &now, WakeAt: &now,
				Error: &store.NodeError{Message: "the process running this attempt stopped before it finished", Code: CodeInterrupted}}
			ns.status = workflow.NodeRunFailed
			if crashes >= r.e.cfg.CrashLimit {
				interrupted.WakeAt = nil
				interrupted.Error = &store.NodeError{Code: CodeCrashed, Message: fmt.Sprintf(
					"the process running this node stopped during %d of its attempts (a crash or kill, not a graceful shutdown); "+
						"it is not run again, as it may be what brings the process down", crashes)}
				r.batch.NodeRuns = append(r.batch.NodeRuns, interrupted)
				r.event(EventNodeFailed, id, run.Attempt, map[string]any{"error": interrupted.Error.Message, "code": CodeCrashed})
				r.failure = nodeFailure(id, interrupted.Error)
				continue
			}
			r.batch.NodeRuns = append(r.batch.NodeRuns, interrupted)
			r.event(EventNodeFailed, id, run.Attempt, map[string]any{"error": interrupted.Error.Message, "code": CodeInterrupted})
			ns.retryPending, ns.wakeAt = true, now
		}
	}
	return nil
}

// Error codes of attempts that did not end on their own.
const (
	// CodeInterrupted marks an attempt found cut short by a process that crashed or was killed.
	CodeInterrupted = "interrupted"
	// CodeShutdown marks an attempt canceled by a graceful shutdown and handed back to the queue.
	CodeShutdown = "shutdown"
	// CodeCrashed marks a node failed because its attempts kept being cut short by crashes.
	CodeCrashed = "crashed"
	// CodeBudgetExceeded marks a node that would have taken its execution past its memory budget.
	CodeBudgetExceeded = "budget_exceeded"
)

// crashesBefore counts the earlier attempts of node id, before attempt, that a crash cut short.
func crashesBefore(runs []store.NodeRun, id string, attempt int) int {
	n := 0
	for i := range runs {
		if runs[i].NodeID == id && runs[i].Attempt < attempt && runs[i].Error != nil &&
			(runs[i].Error.Code == CodeInterrupted || runs[i].Error.Code == CodeCrashed) {
			n++
		}
	}
	return n
}

// heldBytes is what a stored output holds in memory: its JSON and its decoded value.
func heldBytes(outJSON json.RawMessage) int64 { return 2 * int64(len(outJSON)) }

func nodeFailure(id string, e *store.NodeError) *store.ExecutionError {
	out := &store.ExecutionError{NodeID: id, Message: "node " + id + " failed"}
	if e != nil {
		out.Message = fmt.Sprintf("node %s failed: %s", id, e.Message)
		out.Code = e.Code
	}
	return out
}

// event appends an event to the pending batch.
func (r *runner) event(typ, nodeID string, attempt int, data map[string]any) {
	r.seq++
	ev := store.Event{ExecutionID: r.exec.ID, Seq: r.seq, Type: typ, NodeID: nodeID, Attempt: attempt, Time: r.e.now().UTC()}
	if len(data) > 0 {
		ev.Data = mustJSON(data)
	}
	r.batch.Events = append(r.batch.Events, ev)
}

// flush persists the pending batch, merged with final when given. Nothing the batch describes is
// acted upon before flush returns.
func (r *runner) flush(ctx context.Context, final *store.ExecutionUpdate) error {
	u := r.batch
	r.batch = store.ExecutionUpdate{ExecutionID: r.exec.ID}
	r.effectEnded = false
	if final != nil {
		final.NodeRuns = append(u.NodeRuns, final.NodeRuns...)
		final.Events = append(u.Events, final.Events...)
		if final.SetStartedAt == nil {
			final.SetStartedAt = u.SetStartedAt
		}
		u = *final
	}
	if len(u.NodeRuns) == 0 && len(u.Events) == 0 && u.To == "" && u.SetStartedAt == nil {
		return nil
	}
	u.ExecutionID, u.Owner = r.exec.ID, r.owner
	events := u.Events
	if pub := r.e.cfg.Publisher; pub != nil {
		tenant, workflowID := r.exec.TenantID, r.exec.WorkflowID
		u.OnCommit = func() {
			for _, ev := range events {
				pub.Publish(&event.Message{TenantID: tenant, WorkflowID: workflowID, Event: ev})
			}
		}
	}
	// Writes use a context that survives shutdown: a transition that was decided must be recorded.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := r.e.cfg.Store.ApplyExecutionUpdate(wctx, r.exec.TenantID, &u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("%w: %w", ErrLeaseLost, err)
		}
		return fmt.Errorf("persist execution %s: %w", r.exec.ID, err)
	}
	if final != nil {
		final.WakeAt = u.WakeAt
	}
	return nil
}

func (r *runner) run(ctx context.Context, cancel <-chan struct{}) (Outcome, error) {
	if r.firstStart {
		r.batch.SetStartedAt = &r.startedAt
		r.event(EventExecutionStarted, "", 0, nil)
	} else {
		r.event(EventExecutionResumed, "", 0, nil)
	}
	r.seed()

	attemptsCtx, stopAttempts := context.WithCancel(context.WithoutCancel(ctx))
	defer stopAttempts()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	done := ctx.Done()
	for {
		if !r.stopping() && !r.draining {
			r.startReady(attemptsCtx)
		}
		if r.mustCheckpoint() {
			if err := r.flush(ctx, nil); err != nil {
				stopAttempts()
				r.drain(shutdownGrace)
				return Outcome{Status: workflow.ExecutionRunning}, err
			}
		}
		r.launchAll()

		if r.running == 0 && (len(r.ready) == 0 || r.draining) {
			if r.stopping() {
				return r.finish(ctx)
			}
			next := r.nextTimer()
			if len(r.ready) == 0 {
				if next.IsZero() {
					return r.finish(ctx)
				}
				if next.Sub(r.e.now()) > r.e.cfg.SuspendThreshold && (r.deadline.IsZero() || next.Before(r.deadline)) {
					return r.suspend(ctx, next)
				}
			}
			if r.draining {
				return r.handBack(ctx)
			}
		}
		if len(r.ready) > 0 && r.running < r.parallelism && !r.stopping() && !r.draining {
			continue
		}
		if r.runningPure == 0 {
			// Only effectful attempts, timers, a cancel or a drain can end this wait: write what is
			// pending first, so that the log does not lag behind for as long as they take.
			if err := r.flush(ctx, nil); err != nil {
				stopAttempts()
				r.drain(shutdownGrace)
				return Outcome{Status: workflow.ExecutionRunning}, err
			}
		}
		resetTimer(timer, r.nextDue(), r.e.now())

		select {
		case res := <-r.results:
			r.handle(res)
			r.drainReady()
		case <-timer.C:
			if r.draining && !r.e.now().Before(r.drainUntil) {
				return r.stopDraining(ctx, stopAttempts)
			}
			r.fireTimers()
		case <-cancel:
			cancel = nil
			if !r.canceled {
				r.canceled = true
				r.stopRunning()
			}
		case <-done:
			// Shutdown: start nothing new, let running attempts finish (their results are saved)
			// until the drain timeout, then hand the execution back to the queue.
			done = nil
			r.draining, r.drainUntil = true, r.e.now().Add(r.e.cfg.DrainTimeout)
			r.event(EventExecutionDraining, "", 0, map[string]any{"reason": "shutdown", "running": r.running,
				"drainTimeoutMs": r.e.cfg.DrainTimeout.Milliseconds()})
		}
	}
}

// drainReady handles every result already waiting, so that they share one write.
func (r *runner) drainReady() {
	for {
		select {
		case res := <-r.results:
			r.handle(res)
		default:
			return
		}
	}
}

func (r *runner) stopping() bool {
	return r.failure != nil || r.canceled || r.timedOut || r.stopNode != nil
}

// seed marks the start trigger ready, skips the other triggers, readies the roots and settles every
// node whose inputs are already resolved (on resume).
func (r *runner) seed() {
	for _, ns := range r.nodes {
		if ns.status != workflow.NodeRunPending {
			continue
		}
		switch {
		case ns.n.IsTrigger():
			if ns == r.start {
				r.enqueue(ns)
			} else {
				r.skip(ns)
			}
		case len(ns.n.In) == 0:
			r.enqueue(ns)
		}
	}
	for _, ns := range r.nodes {
		if ns.status == workflow.NodeRunPending && !ns.queued && len(ns.n.In) > 0 {
			r.evaluate(ns)
		}
	}
}

func (r *runner) enqueue(ns *nodeState) {
	if ns.queued || r.stopping() {
		return
	}
	ns.queued = true
	r.ready = append(r.ready, ns)
}

// evaluate decides whether a pending node with inputs is ready, must be skipped, or waits.
func (r *runner) evaluate(ns *nodeState) {
	if ns.status != workflow.NodeRunPending || ns.queued {
		return
	}
	taken, resolved := 0, 0
	for _, e := range ns.n.In {
		src := r.nodes[e.Source.Index]
		if !src.finished() {
			continue
		}
		resolved++
		if src.status != workflow.NodeRunSkipped && src.port == e.SourcePort {
			taken++
		}
	}
	switch {
	case ns.n.WaitAny && taken > 0:
		r.enqueue(ns)
	case resolved < len(ns.n.In):
		return
	case taken > 0:
		r.enqueue(ns)
	default:
		r.skip(ns)
	}
}

func (r *runner) skip(ns *nodeState) {
	ns.status = workflow.NodeRunSkipped
	ns.attempt = max(ns.attempt, 1)
	now := r.e.now().UTC()
	r.batch.NodeRuns = append(r.batch.NodeRuns, store.NodeRun{NodeID: ns.n.Spec.ID, Attempt: ns.attempt, Status: workflow.NodeRunSkipped, FinishedAt: &now})
	r.event(EventNodeSkipped, ns.n.Spec.ID, ns.attempt, nil)
	r.propagate(ns)
}

func (r *runner) propagate(ns *nodeState) {
	for _, e := range ns.n.Out {
		r.evaluate(r.nodes[e.Target.Index])
	}
}

// sources returns the taken incoming edges of ns in definition order.
func (r *runner) sources(ns *nodeState) []node.Source {
	var out []node.Source
	for _, e := range ns.n.In {
		src := r.nodes[e.Source.Index]
		if src.finished() && src.status != workflow.NodeRunSkipped && src.port == e.SourcePort {
			out = append(out, node.Source{Node: src.n.Spec.ID, Port: e.SourcePort, Value: src.output})
		}
	}
	return out
}

func (r *runner) triggerValue() any {
	if r.start != nil && r.start.status == workflow.NodeRunSucceeded {
		return r.start.output
	}
	return r.triggerData
}

func (r *runner) nodesEnv(n *validate.Node) map[string]any {
	add := func(m map[string]any, ns *nodeState) {
		if ns.finished() {
			m[ns.n.Spec.ID] = map[string]any{"output": ns.output, "status": string(ns.status)}
		}
	}
	if n.AllRefs {
		m := make(map[string]any, len(r.nodes))
		for _, ns := range r.nodes {
			add(m, ns)
		}
		return m
	}
	m := make(map[string]any, len(n.Refs))
	for _, id := range n.Refs {
		add(m, r.byID[id])
	}
	return m
}

// startReady records the start of ready nodes, up to the parallelism bound; they are launched once
// the start is persisted.
func (r *runner) startReady(ctx context.Context) {
	for len(r.ready) > 0 && r.running < r.parallelism {
		ns := r.ready[0]
		r.ready = r.ready[1:]
		ns.queued = false
		job := r.prepare(ctx, ns)
		r.launch = append(r.launch, job)
		r.running++
	}
}

func (r *runner) prepare(ctx context.Context, ns *nodeState) *attemptJob {
	now := r.e.now().UTC()
	n := ns.n
	job := &attemptJob{n: n}
	if ns.resume {
		job.resume = &node.Resume{WakeAt: ns.wakeAt}
		if !ns.dueAt.IsZero() {
			job.resume.WakeAt = ns.dueAt
		}
	} else {
		ns.attempt++
	}
	ns.resume, ns.retryPending, ns.wakeAt, ns.dueAt = false, false, time.Time{}, time.Time{}
	ns.status, ns.port, ns.output, ns.outJSON, ns.startedAt = workflow.NodeRunRunning, "", nil, nil, now
	r.mem.Release(ns.held)
	ns.held = 0
	job.attempt = ns.attempt
	job.acct = r.mem.Open()

	// A node's input is usually another node's output, already stored: the run then refers to it
	// instead of storing the same JSON again.
	var inputJSON json.RawMessage
	inputFrom := ""
	switch {
	case n.IsTrigger() || len(n.In) == 0:
		job.data = r.triggerData
		inputJSON = r.exec.Input
	default:
		job.sources = r.sources(ns)
		if len(job.sources) > 0 {
			job.data = job.sources[0].Value
			inputFrom = job.sources[0].Node
		}
	}
	if len(inputJSON) == 0 && inputFrom == "" {
		inputJSON = mustJSON(job.data)
	}
	job.env = &expression.Env{
		Trigger: r.triggerValue(), Input: job.data, Nodes: r.nodesEnv(n),
		Execution: r.execEnv, Workflow: r.wfEnv, Vars: r.g.Def.Settings.Vars,
	}
	job.info = node.ExecutionInfo{TenantID: r.exec.TenantID, ExecutionID: r.exec.ID, WorkflowID: r.exec.WorkflowID,
		WorkflowVersion: r.exec.WorkflowVersion, NodeID: n.Spec.ID, Attempt: ns.attempt}
	job.trigger = r.triggerValue()
	if n.Type.Info.Signals && r.host != nil {
		job.host = r.host.NodeHost(r.exec, n.Spec.ID, ns.attempt)
	}

	run := store.NodeRun{NodeID: n.Spec.ID, Attempt: ns.attempt, Status: workflow.NodeRunRunning, StartedAt: &now}
	if job.resume == nil {
		run.Input, run.InputFrom = inputJSON, inputFrom
	}
	r.batch.NodeRuns = append(r.batch.NodeRuns, run)
	r.event(EventNodeStarted, n.Spec.ID, ns.attempt, nil)

	attemptCtx, cancel := context.WithCancel(ctx)
	ns.cancel = cancel
	job.ctx = attemptCtx
	return job
}

// checkpointEvents bounds the events a run of pure nodes keeps in memory before writing them.
const checkpointEvents = 512

// mustCheckpoint reports whether the pending batch must be written before the attempts about to start
// run: always when one of them is effectful (what it does outside the run must follow a durable record
// of its start), never for pure ones (ADR 0023), whose steps go with the next write, unless the batch
// has grown large.
// It also writes once an effectful attempt has ended, so that a crash does not run it again.
func (r *runner) mustCheckpoint() bool {
	if r.effectEnded || len(r.batch.Events) >= checkpointEvents {
		return true
	}
	for _, job := range r.launch {
		if !job.n.Type.Info.Pure || job.resume != nil {
			return true
		}
	}
	return false
}

func (r *runner) launchAll() {
	for _, job := range r.launch {
		if job.n.Type.Info.Pure {
			r.runningPure++
		}
		go func(job *attemptJob) {
			r.results <- r.e.execute(job)
		}(job)
	}
	r.launch = r.launch[:0]
}

// handle applies one attempt's result.
func (r *runner) handle(res *attemptResult) {
	if res.job.n.Type.Info.Pure {
		r.runningPure--
	} else {
		r.effectEnded = true
	}
	r.running--
	ns := r.nodes[res.job.n.Index]
	// Whether the run canceled the attempt (cancel, failure elsewhere, shutdown), read before the
	// attempt's own context is released below.
	cutShort := res.job.ctx.Err() != nil
	if ns.cancel != nil {
		ns.cancel()
		ns.cancel = nil
	}
	id, attempt := ns.n.Spec.ID, res.job.attempt
	now := r.e.now().UTC()
	elapsed := now.Sub(ns.startedAt)
	run := store.NodeRun{NodeID: id, Attempt: attempt, FinishedAt: &now, Logs: res.logs}
	r.logEvents(id, attempt, res.logs)
	// What the attempt built is given back; the output it keeps for later nodes is held instead.
	res.job.acct.Close()
	if res.err == nil && res.suspendUntil.IsZero() {
		if err := r.mem.Reserve(heldBytes(res.outJSON)); err != nil {
			res.err, res.value, res.outJSON = budgetExceeded(id, err), nil, nil
		} else {
			ns.held = heldBytes(res.outJSON)
		}
	}

	switch {
	case res.err == nil && res.suspendUntil.IsZero():
		ns.status, ns.port, ns.output, ns.outJSON = workflow.NodeRunSucceeded, res.port, res.value, res.outJSON
		run.Status, run.Port, run.Output = workflow.NodeRunSucceeded, res.port, res.outJSON
		r.batch.NodeRuns = append(r.batch.NodeRuns, run)
		r.event(EventNodeSucceeded, id, attempt, map[string]any{"port": res.port, "durationMs": elapsed.Milliseconds()})
		r.observe(ns, workflow.NodeRunSucceeded, elapsed)
		if res.response != nil {
			r.event(EventExecutionResponded, id, attempt, map[string]any{
				"status": res.response.Status, "headers": res.response.Headers, "body": res.response.Body})
		}
		if res.stop && !r.stopping() {
			r.stopNode = ns
			r.stopRunning()
			return
		}
		r.propagate(ns)

	case res.err == nil:
		ns.status, ns.wakeAt, ns.resume = workflow.NodeRunWaiting, res.suspendUntil, true
		wake := res.suspendUntil
		run.Status, run.WakeAt, run.FinishedAt = workflow.NodeRunWaiting, &wake, nil
		r.batch.NodeRuns = append(r.batch.NodeRuns, run)
		r.event(EventNodeWaiting, id, attempt, map[string]any{"wakeAt": wake.Format(time.RFC3339Nano)})

	case r.draining && cutShort && res.err != nil:
		// Canceled by a shutdown that outlasted the drain timeout.
		r.recordShutdown(ns, attempt)

	case r.stopping() && errors.Is(res.err, context.Canceled):
		ns.status = workflow.NodeRunCanceled
		run.Status, run.Error = workflow.NodeRunCanceled, &store.NodeError{Message: r.stopReason(), Code: "canceled"}
		r.batch.NodeRuns = append(r.batch.NodeRuns, run)
		r.event(EventNodeCanceled, id, attempt, nil)
		r.observe(ns, workflow.NodeRunCanceled, elapsed)

	default:
		r.handleError(ns, res, run, elapsed)
	}
}

func (r *runner) handleError(ns *nodeState, res *attemptResult, run store.NodeRun, elapsed time.Duration) {
	id, attempt := ns.n.Spec.ID, res.job.attempt
	nerr := toNodeError(res.err)
	run.Status, run.Error = workflow.NodeRunFailed, nerr
	spec := ns.n.Spec
	if attempt < spec.Retry.Attempts() && !node.IsPermanent(res.err) && !r.stopping() {
		delay := jitter(spec.Retry.Backoff(attempt+1), spec.Retry)
		at := r.e.now().UTC().Add(delay)
		ns.status, ns.retryPending, ns.wakeAt = workflow.NodeRunFailed, true, at
		run.WakeAt = &at
		r.batch.NodeRuns = append(r.batch.NodeRuns, run)
		r.event(EventNodeRetrying, id, attempt, map[string]any{"error": nerr.Message, "code": nerr.Code,
			"nextAttempt": attempt + 1, "delayMs": delay.Milliseconds()})
		r.observe(ns, workflow.NodeRunFailed, elapsed)
		return
	}
	errValue := map[string]any{"message": nerr.Message, "nodeId": id, "attempt": attempt}
	if nerr.Code != "" {
		errValue["code"] = nerr.Code
	}
	if len(nerr.Details) > 0 {
		var details any
		if json.Unmarshal(nerr.Details, &details) == nil {
			errValue["details"] = details
		}
	}
	ns.status = workflow.NodeRunFailed
	data := map[string]any{"error": nerr.Message, "code": nerr.Code, "durationMs": elapsed.Milliseconds()}
	switch spec.OnError {
	case workflow.OnErrorContinue:
		ns.port, ns.output = workflow.PortOut, map[string]any{"error": errValue}
	case workflow.OnErrorPort:
		ns.port, ns.output = workflow.PortError, errValue
	default:
		if r.failure == nil && !r.canceled && r.stopNode == nil {
			r.failure = nodeFailure(id, nerr)
			r.stopRunning()
		}
	}
	if ns.port != "" {
		ns.outJSON = mustJSON(ns.output)
		ns.held = heldBytes(ns.outJSON)
		r.mem.Hold(ns.held)
		run.Port, run.Output = ns.port, ns.outJSON
		data["handled"] = string(spec.OnError)
	}
	r.batch.NodeRuns = append(r.batch.NodeRuns, run)
	r.event(EventNodeFailed, id, attempt, data)
	r.observe(ns, workflow.NodeRunFailed, elapsed)
	if ns.port != "" {
		r.propagate(ns)
	}
}

func (r *runner) observe(ns *nodeState, status workflow.NodeRunStatus, d time.Duration) {
	if o := r.e.cfg.Observer; o != nil {
		o.NodeRunFinished(ns.n.Spec.Type, status, d)
	}
}

func (r *runner) logEvents(id string, attempt int, logs []store.LogEntry) {
	for _, l := range logs {
		r.event(EventNodeLog, id, attempt, map[string]any{"level": l.Level, "message": l.Message})
	}
}

func (r *runner) stopReason() string {
	switch {
	case r.stopNode != nil && r.failure == nil && !r.canceled && !r.timedOut:
		return "node " + r.stopNode.n.Spec.ID + " stopped the execution"
	case r.canceled:
		return "the execution was canceled"
	case r.timedOut:
		return "the execution timed out"
	}
	return "another node failed"
}

func (r *runner) stopRunning() {
	for _, ns := range r.nodes {
		if ns.cancel != nil {
			ns.cancel()
		}
	}
	r.ready = r.ready[:0]
	for _, ns := range r.nodes {
		ns.queued = false
	}
}

// nextTimer returns the earliest wake-up among waiting nodes and pending retries, or zero.
func (r *runner) nextTimer() time.Time {
	var next time.Time
	for _, ns := range r.nodes {
		if (ns.status == workflow.NodeRunWaiting || ns.retryPending) && (next.IsZero() || ns.wakeAt.Before(next)) {
			next = ns.wakeAt
		}
	}
	return next
}

// nextDue is the earliest of the node timers and the execution deadline.
func (r *runner) nextDue() time.Time {
	next := r.nextTimer()
	if r.draining {
		// Waiting nodes and retries do not start while draining; only the drain timeout (and the
		// execution's own deadline) matter.
		next = r.drainUntil
	}
	if !r.deadline.IsZero() && !r.timedOut && (next.IsZero() || r.deadline.Before(next)) {
		next = r.deadline
	}
	return next
}

func resetTimer(t *time.Timer, at, now time.Time) {
	d := time.Hour
	if !at.IsZero() {
		d = max(at.Sub(now), 0)
	}
	t.Reset(d)
}

func (r *runner) fireTimers() {
	now := r.e.now()
	if !r.deadline.IsZero() && !r.timedOut && !now.Before(r.deadline) {
		r.timedOut = true
		if r.failure == nil {
			r.failure = &store.ExecutionError{Message: fmt.Sprintf("the execution ran past its timeout of %s", r.g.Def.Settings.Timeout), Code: "timeout"}
		}
		r.stopRunning()
		return
	}
	if r.stopping() {
		return
	}
	for _, ns := range r.nodes {
		if (ns.status == workflow.NodeRunWaiting || ns.retryPending) && !ns.queued && !ns.wakeAt.After(now) {
			if ns.status == workflow.NodeRunWaiting {
				ns.resume = true
			}
			r.enqueue(ns)
		}
	}
}

// drain waits for running attempts to return, discarding their results.
func (r *runner) drain(grace time.Duration) {
	deadline := time.NewTimer(grace)
	defer deadline.Stop()
	for r.running > 0 {
		select {
		case <-r.results:
			r.running--
		case <-deadline.C:
			r.e.logger.Warn("Attempts did not stop in time", "execution_id", r.exec.ID, "running", r.running)
			return
		}
	}
}

// finish records the execution's final state.
func (r *runner) finish(ctx context.Context) (Outcome, error) {
	now := r.e.now().UTC()
	status := workflow.ExecutionSucceeded
	switch {
	case r.canceled:
		status = workflow.ExecutionCanceled
	case r.failure != nil:
		status = workflow.ExecutionFailed
	}
	if status == workflow.ExecutionSucceeded && r.stopNode != nil {
		r.settleStopped(now)
	}
	if status != workflow.ExecutionSucceeded {
		for _, ns := range r.nodes {
			attempt := ns.attempt + 1
			switch {
			case ns.status == workflow.NodeRunWaiting:
				attempt = ns.attempt
			case ns.retryPending, status == workflow.ExecutionCanceled && ns.status == workflow.NodeRunPending:
			default:
				continue
			}
			ns.status, ns.retryPending, ns.attempt = workflow.NodeRunCanceled, false, attempt
			r.batch.NodeRuns = append(r.batch.NodeRuns, store.NodeRun{NodeID: ns.n.Spec.ID, Attempt: attempt, Status: workflow.NodeRunCanceled, FinishedAt: &now,
				Error: &store.NodeError{Message: r.stopReason(), Code: "canceled"}})
			r.event(EventNodeCanceled, ns.n.Spec.ID, attempt, nil)
		}
	}
	final := &store.ExecutionUpdate{
		From: []workflow.ExecutionStatus{workflow.ExecutionRunning}, To: status,
		SetFinishedAt: &now, ReleaseLease: true, WakeParent: r.exec.ParentExecutionID,
	}
	started := r.startedAt
	data := map[string]any{"status": status, "durationMs": now.Sub(started).Milliseconds()}
	switch status {
	case workflow.ExecutionSucceeded:
		final.Output = r.output()
	case workflow.ExecutionFailed:
		final.Error = r.failure
		data["error"] = r.failure.Message
	}
	r.event(EventExecutionFinished, "", 0, data)
	if err := r.flush(ctx, final); err != nil {
		return Outcome{Status: workflow.ExecutionRunning}, err
	}
	if o := r.e.cfg.Observer; o != nil {
		o.ExecutionFinished(status, now.Sub(started))
	}
	if r.host != nil {
		r.host.ExecutionFinished(ctx, r.exec, status, r.failure)
	}
	return Outcome{Status: status}, nil
}

// settleStopped closes the nodes a flow.stop left behind: waiting attempts and pending retries are
// canceled, nodes that never started are skipped.
func (r *runner) settleStopped(now time.Time) {
	for _, ns := range r.nodes {
		switch {
		case ns.status == workflow.NodeRunWaiting, ns.retryPending:
			attempt := ns.attempt
			if ns.retryPending {
				attempt++
			}
			ns.status, ns.retryPending, ns.attempt = workflow.NodeRunCanceled, false, attempt
			r.batch.NodeRuns = append(r.batch.NodeRuns, store.NodeRun{NodeID: ns.n.Spec.ID, Attempt: attempt, Status: workflow.NodeRunCanceled, FinishedAt: &now,
				Error: &store.NodeError{Message: r.stopReason(), Code: "stopped"}})
			r.event(EventNodeCanceled, ns.n.Spec.ID, attempt, nil)
		case ns.status == workflow.NodeRunPending:
			ns.status, ns.attempt = workflow.NodeRunSkipped, max(ns.attempt, 1)
			r.batch.NodeRuns = append(r.batch.NodeRuns, store.NodeRun{NodeID: ns.n.Spec.ID, Attempt: ns.attempt, Status: workflow.NodeRunSkipped, FinishedAt: &now})
			r.event(EventNodeSkipped, ns.n.Spec.ID, ns.attempt, nil)
		}
	}
}

// output is the execution's result: the output node's output when settings name one, else the
// output of the single sink that succeeded, or an object of every succeeded sink's output by id.
func (r *runner) output() json.RawMessage {
	if r.stopNode != nil {
		return r.stopNode.outJSON
	}
	if id := r.g.Def.Settings.OutputNode; id != "" {
		if ns := r.byID[id]; ns != nil && ns.outJSON != nil {
			return ns.outJSON
		}
		return json.RawMessage("null")
	}
	var sinks []*nodeState
	for _, ns := range r.nodes {
		if len(ns.n.Out) == 0 && ns.outJSON != nil && (ns.status == workflow.NodeRunSucceeded || ns.status == workflow.NodeRunFailed) {
			sinks = append(sinks, ns)
		}
	}
	switch len(sinks) {
	case 0:
		return json.RawMessage("null")
	case 1:
		return sinks[0].outJSON
	}
	m := make(map[string]json.RawMessage, len(sinks))
	for _, ns := range sinks {
		m[ns.n.Spec.ID] = ns.outJSON
	}
	return mustJSON(m)
}

// suspend parks the execution in the store until at.
func (r *runner) suspend(ctx context.Context, at time.Time) (Outcome, error) {
	at = at.UTC()
	r.event(EventExecutionWaiting, "", 0, map[string]any{"wakeAt": at.Format(time.RFC3339Nano)})
	final := &store.ExecutionUpdate{
		From: []workflow.ExecutionStatus{workflow.ExecutionRunning}, To: workflow.ExecutionWaiting,
		WakeAt: &at, ReleaseLease: true,
	}
	if err := r.flush(ctx, final); err != nil {
		return Outcome{Status: workflow.ExecutionRunning}, err
	}
	return Outcome{Status: workflow.ExecutionWaiting, WakeAt: final.WakeAt}, nil
}

// stopDraining ends a drain that outlasted its timeout: it cancels the attempts still running, saves
// the results of those that finish at once, records the others as cut short by the shutdown (they run
// again as new attempts, without counting as crashes), and hands the execution back.
func (r *runner) stopDraining(ctx context.Context, stopAttempts context.CancelFunc) (Outcome, error) {
	stopAttempts()
	wait := time.NewTimer(shutdownCancelWait)
	defer wait.Stop()
	for r.running > 0 {
		select {
		case res := <-r.results:
			r.handle(res)
		case <-wait.C:
			r.e.logger.WarnContext(ctx, "Attempts did not stop in time", "running", r.running)
			for _, ns := range r.nodes {
				if ns.status == workflow.NodeRunRunning {
					r.recordShutdown(ns, ns.attempt)
				}
			}
			r.running = 0
		}
	}
	if r.stopping() {
		return r.finish(ctx)
	}
	return r.handBack(ctx)
}

// shutdownCancelWait bounds how long a stopping run waits for canceled attempts to return.
const shutdownCancelWait = 2 * time.Second

// recordShutdown records an attempt cut short by a shutdown: failed with code shutdown and due for a
// new attempt at once, so that whoever resumes the execution runs the node again.
func (r *runner) recordShutdown(ns *nodeState, attempt int) {
	now := r.e.now().UTC()
	if ns.cancel != nil {
		ns.cancel()
		ns.cancel = nil
	}
	ns.status, ns.retryPending, ns.wakeAt = workflow.NodeRunFailed, true, now
	r.batch.NodeRuns = append(r.batch.NodeRuns, store.NodeRun{NodeID: ns.n.Spec.ID, Attempt: attempt, Status: workflow.NodeRunFailed,
		FinishedAt: &now, WakeAt: &now, Error: &store.NodeError{Code: CodeShutdown,
			Message: "the process shut down before this attempt finished; the node runs again as a new attempt"}})
	r.event(EventNodeRetrying, ns.n.Spec.ID, attempt, map[string]any{"error": "the process shut down before this attempt finished",
		"code": CodeShutdown, "nextAttempt": attempt + 1, "delayMs": 0})
}

// handBack hands the execution back to the queue on shutdown, once nothing runs.
func (r *runner) handBack(ctx context.Context) (Outcome, error) {
	r.event(EventExecutionRequeued, "", 0, map[string]any{"reason": "shutdown"})
	final := &store.ExecutionUpdate{
		From: []workflow.ExecutionStatus{workflow.ExecutionRunning}, To: workflow.ExecutionQueued, ReleaseLease: true,
	}
	if err := r.flush(ctx, final); err != nil {
		return Outcome{Status: workflow.ExecutionRunning}, err
	}
	return Outcome{Status: workflow.ExecutionQueued}, ctx.Err()
}

func jitter(d time.Duration, p *workflow.RetryPolicy) time.Duration {
	if p == nil || p.Jitter <= 0 || d <= 0 {
		return d
	}
	f := 1 + p.Jitter*(2*rand.Float64()-1) //nolint:gosec // retry jitter spreads load; it protects nothing
	return time.Duration(float64(d) * f)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(map[string]any{"unencodable": err.Error()})
	}
	return b
}
