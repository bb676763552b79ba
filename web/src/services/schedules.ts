import { queryOptions } from '@tanstack/react-query';

import type { components } from './api.gen';
import { request } from './http';

/** ScheduleFromAPI is a schedule trigger of a workflow with its next fire times. */
export type ScheduleFromAPI = components['schemas']['Schedule'];
type ListBody = components['schemas']['ListSchedulesOutputBody'];
type PreviewBody = components['schemas']['PreviewScheduleOutputBody'];

/** SchedulePreview is the next fire times of a cron expression, as ISO strings in UTC. */
export interface SchedulePreview {
  next: string[];
}

/** scheduleQueries holds the query factories for schedules. */
export const scheduleQueries = {
  all: () => ['schedules'] as const,
  /** forWorkflow lists a workflow's schedule triggers with their next fire times. */
  forWorkflow: (workflowId: string) =>
    queryOptions({
      queryFn: async ({ signal }): Promise<ScheduleFromAPI[]> => {
        const res = await request<ListBody>(`/api/v1/workflows/${encodeURIComponent(workflowId)}/schedules`, { signal });
        return res.data.items ?? [];
      },
      queryKey: [...scheduleQueries.all(), 'workflow', workflowId] as const,
    }),
  /** preview asks the server for the next fire times of an expression in a time zone (a bad one is an ApiError with a 422 problem). */
  preview: (cron: string, timezone: string) =>
    queryOptions({
      queryFn: async ({ signal }): Promise<SchedulePreview> => {
        const body: { cron: string; timezone?: string } = { cron };
        if (timezone) body.timezone = timezone;
        const res = await request<PreviewBody>('/api/v1/schedules/preview', { body, method: 'POST', signal });
        return { next: res.data.next ?? [] };
      },
      queryKey: [...scheduleQueries.all(), 'preview', cron, timezone] as const,
      retry: false,
      // The times move on as the clock does: a minute-old answer is still right for a preview.
      staleTime: 60_000,
    }),
};
