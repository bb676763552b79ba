import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { summarizeRuns } from '@services/executions';
import { executionFactory, nodeRunFactory } from '@test/factories';
import { fakeApi, fakeMe, renderRoute } from '@test/render';

import { NodeRunInspector } from './NodeRunInspector';
import { approvalMessage, timeoutAt, WaitingPanel } from './WaitingPanel';

afterEach(() => {
  vi.unstubAllGlobals();
});

const waiting = nodeRunFactory({
  logs: [{ level: 'info', message: 'Refund 12 EUR to Ada?', time: '2026-01-01T00:00:00Z' }],
  nodeId: 'ask',
  status: 'waiting',
  wakeAt: '2126-01-01T00:00:00Z',
});
const approvalConfig = { message: 'Refund {{ input.amount }} EUR to {{ input.customer }}?', mode: 'approval' };
const approvePath = '/api/v1/executions/e1/nodes/ask/approve';
const rejectPath = '/api/v1/executions/e1/nodes/ask/reject';

describe('approvalMessage', () => {
  it('shows a plain message as configured, and a template as the run evaluated it (the first log entry)', () => {
    expect(approvalMessage({ message: 'Ship it?' }, waiting)).toBe('Ship it?');
    expect(approvalMessage(approvalConfig, waiting)).toBe('Refund 12 EUR to Ada?');
    // Without logs (not loaded), the template itself is better than nothing.
    expect(approvalMessage(approvalConfig, { ...waiting, logs: [] })).toBe(approvalConfig.message);
    expect(approvalMessage({}, { ...waiting, logs: [{ level: 'info', message: 'Waiting for a decision', time: '2026-01-01T00:00:00Z' }] })).toBeNull();
  });

  it('tells a timeout from a wait without limit (parked a century ahead)', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(timeoutAt(waiting, now)).toBeNull();
    expect(timeoutAt({ ...waiting, wakeAt: '2026-01-03T00:00:00Z' }, now)).toBe('2026-01-03T00:00:00Z');
  });
});

describe('WaitingPanel', () => {
  it('approves with the comment through the approve endpoint, and says so', async () => {
    const calls = fakeApi([{ body: executionFactory({ status: 'running' }), method: 'POST', path: approvePath }]);
    const user = userEvent.setup();
    renderRoute(<WaitingPanel config={approvalConfig} executionId="e1" nodeId="ask" run={waiting} />, '/', '/', { me: fakeMe('editor') });
    const panel = screen.getByRole('region', { name: 'Approval: ask' });
    expect(within(panel).getByText('Waiting for approval')).toBeInTheDocument();
    expect(within(panel).getByTestId('approval-message')).toHaveTextContent('Refund 12 EUR to Ada?');
    await user.type(within(panel).getByLabelText(/Comment/), 'fine by me');
    await user.click(within(panel).getByRole('button', { name: 'Approve' }));
    expect(await screen.findByText('ask approved: the run goes on.')).toBeInTheDocument();
    expect(within(panel).getByRole('status')).toHaveTextContent('Approved: the run is resuming…');
    expect(within(panel).queryByRole('button', { name: 'Approve' })).toBeNull();
    const post = calls.filter((c) => c.method === 'POST');
    expect(post).toEqual([{ body: { comment: 'fine by me' }, method: 'POST', url: approvePath }]);
  });

  it('rejects through the reject endpoint, without a comment when there is none', async () => {
    const calls = fakeApi([{ body: executionFactory({ status: 'running' }), method: 'POST', path: rejectPath }]);
    const user = userEvent.setup();
    renderRoute(<WaitingPanel config={approvalConfig} executionId="e1" nodeId="ask" run={waiting} />, '/', '/', { me: fakeMe('owner') });
    await user.click(screen.getByRole('button', { name: 'Reject' }));
    expect(await screen.findByText('ask rejected: the run goes on.')).toBeInTheDocument();
    expect(calls.filter((c) => c.method === 'POST')).toEqual([{ body: {}, method: 'POST', url: rejectPath }]);
  });

  it('explains a 409 (decided already, or the run moved on) and keeps the buttons', async () => {
    fakeApi([
      {
        body: {
          detail: 'node ask of execution e1 was already decided, or the execution has finished: conflict',
          status: 409,
          title: 'Conflict',
          type: 'about:blank',
        },
        method: 'POST',
        path: approvePath,
        status: 409,
      },
      { body: executionFactory({ status: 'running' }), path: '/api/v1/executions/e1' },
    ]);
    const user = userEvent.setup();
    renderRoute(<WaitingPanel config={approvalConfig} executionId="e1" nodeId="ask" run={waiting} />, '/', '/', { me: fakeMe('editor') });
    const panel = screen.getByRole('region', { name: 'Approval: ask' });
    await user.click(within(panel).getByRole('button', { name: 'Approve' }));
    const alert = await within(panel).findByRole('alert');
    expect(alert).toHaveTextContent('Someone already decided, or the run has moved on: nothing was changed.');
    expect(alert).toHaveTextContent('was already decided');
    expect(within(panel).getByRole('button', { name: 'Approve' })).toBeEnabled();
  });

  it('shows a viewer the request but no buttons', () => {
    fakeApi([]);
    renderRoute(<WaitingPanel config={approvalConfig} executionId="e1" nodeId="ask" run={waiting} />, '/', '/', { me: fakeMe('viewer') });
    expect(screen.getByTestId('approval-message')).toHaveTextContent('Refund 12 EUR to Ada?');
    expect(screen.queryByRole('button', { name: 'Approve' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Reject' })).toBeNull();
    expect(screen.queryByLabelText(/Comment/)).toBeNull();
    expect(screen.getByTestId('approval-viewer-note')).toHaveTextContent('your role can only watch');
  });

  it('offers nothing until the role is known', () => {
    fakeApi([]);
    renderRoute(<WaitingPanel config={approvalConfig} executionId="e1" nodeId="ask" run={waiting} />, '/', '/', { me: null });
    expect(screen.queryByRole('button', { name: 'Approve' })).toBeNull();
  });

  it('says a webhook-mode wait waits for the resume URL, with no buttons', () => {
    fakeApi([]);
    renderRoute(<WaitingPanel config={{ mode: 'webhook' }} executionId="e1" nodeId="hook" run={{ ...waiting, logs: [], nodeId: 'hook' }} />);
    expect(screen.getByRole('region', { name: 'hook is waiting' })).toHaveTextContent('Waiting for a request to the execution’s resume URL');
    expect(screen.getByText('{{ execution.resumeUrl }}')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Approve' })).toBeNull();
  });

  it('is part of the node run inspector of a waiting flow.wait, and an approval shows its decision afterwards', () => {
    fakeApi([]);
    const node = { config: approvalConfig, type: 'flow.wait' };
    const view = renderRoute(<NodeRunInspector node={node} summary={summarizeRuns('e1', [waiting]).get('ask')!} />, '/', '/', { me: fakeMe('editor') });
    expect(screen.getByRole('button', { name: 'Approve' })).toBeInTheDocument();
    view.unmount();

    const done = nodeRunFactory({
      nodeId: 'ask',
      output: { approved: false, at: '2026-01-01T00:05:00Z', by: { userId: 'u1' }, comment: 'too much', decision: 'rejected' },
      outputBytes: 100,
      status: 'succeeded',
    });
    renderRoute(<NodeRunInspector node={node} summary={summarizeRuns('e1', [done]).get('ask')!} />, '/', '/', { me: fakeMe('editor') });
    expect(screen.queryByRole('button', { name: 'Approve' })).toBeNull();
    const decision = screen.getByRole('region', { name: 'Decision' });
    expect(decision).toHaveTextContent('Rejected by you');
    expect(decision).toHaveTextContent('“too much”');
  });
});
