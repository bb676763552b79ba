import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useState } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { fakeApi, renderRoute } from '@test/render';

import { formatFireTime, ScheduleTimes } from './ScheduleTimes';

afterEach(() => {
  vi.unstubAllGlobals();
});

const next = ['2026-03-30T07:00:00Z', '2026-03-31T07:00:00Z', '2026-04-01T07:00:00Z', '2026-04-02T07:00:00Z', '2026-04-03T07:00:00Z'];

/** Harness edits the cron field as the configuration form would. */
function Harness({ initial }: { initial: Record<string, unknown> }) {
  const [config, setConfig] = useState(initial);
  return (
    <div>
      <label>
        Cron
        <input onChange={(e) => setConfig({ ...config, cron: e.target.value })} value={typeof config.cron === 'string' ? config.cron : ''} />
      </label>
      <ScheduleTimes config={config} />
    </div>
  );
}

describe('ScheduleTimes', () => {
  it('asks for the fire times once the expression stops changing and shows them in the schedule’s time zone', async () => {
    const calls = fakeApi([{ body: { next }, method: 'POST', path: '/api/v1/schedules/preview' }]);
    const user = userEvent.setup();
    renderRoute(<Harness initial={{ timezone: 'Europe/Paris' }} />);
    expect(screen.getByText('Write a cron expression to see when it fires.')).toBeInTheDocument();

    await user.type(screen.getByLabelText('Cron'), '0 9 * * 1-5');
    const list = await screen.findByRole('list', { name: 'Next fire times' });
    const times = list.querySelectorAll('time');
    expect(times).toHaveLength(5);
    expect(times[0]).toHaveAttribute('dateTime', '2026-03-30T07:00:00Z');
    expect(times[0]).toHaveTextContent(formatFireTime('2026-03-30T07:00:00Z', 'Europe/Paris'));
    expect(screen.getByText('Next fire times (Europe/Paris)')).toBeInTheDocument();
    // Typed key by key, asked for once: the request waits until the typing stops.
    expect(calls).toHaveLength(1);
    expect(calls[0]).toEqual({ body: { cron: '0 9 * * 1-5', timezone: 'Europe/Paris' }, method: 'POST', url: '/api/v1/schedules/preview' });
  });

  it('shows the server’s reason inline when the expression is refused', async () => {
    fakeApi([
      {
        body: {
          detail: 'cron "every day": expected 5 to 6 fields, found 2: [every day]',
          errors: [{ location: '/cron', message: 'cron "every day": expected 5 to 6 fields, found 2: [every day]' }],
          status: 422,
          title: 'Unprocessable Entity',
          type: 'urn:concertmaster:problem:validation',
        },
        method: 'POST',
        path: '/api/v1/schedules/preview',
        status: 422,
      },
    ]);
    renderRoute(<ScheduleTimes config={{ cron: 'every day' }} />);
    expect(await screen.findByRole('alert')).toHaveTextContent('cron "every day": expected 5 to 6 fields');
    expect(screen.queryByRole('list')).not.toBeInTheDocument();
    expect(screen.getByText('Next fire times (UTC)')).toBeInTheDocument();
  });

  it('refuses an expression without asking the server', async () => {
    const calls = fakeApi([]);
    renderRoute(<ScheduleTimes config={{ cron: '{{ vars.when }}' }} />);
    expect(await screen.findByRole('alert')).toHaveTextContent('A schedule cannot use {{ expressions }}');
    // The debounced value starts as the value itself, so the query is never enabled.
    expect(calls).toHaveLength(0);
  });

  it('says when an expression never fires', async () => {
    fakeApi([{ body: { next: [] }, method: 'POST', path: '/api/v1/schedules/preview' }]);
    renderRoute(<ScheduleTimes config={{ cron: '0 0 30 2 *' }} />);
    await waitFor(() => expect(screen.getByText('This expression does not fire in the next five years.')).toBeInTheDocument());
  });
});

describe('formatFireTime', () => {
  it('renders the instant in the zone, falling back to UTC for a zone the browser does not know', () => {
    const paris = formatFireTime('2026-10-25T00:30:00Z', 'Europe/Paris');
    expect(paris).toContain('2:30');
    expect(formatFireTime('2026-10-25T00:30:00Z', 'Nowhere/Atlantis')).toContain('12:30');
  });
});
