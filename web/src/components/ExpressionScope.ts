import { createContext } from 'react';

import type { ExpressionScope } from '@lib/expressionLang';

/** ExpressionTarget is where the expressions of a form belong: what the preview evaluates against. */
export interface ExpressionTarget {
  /** executionId is the last run of the workflow, when there is one. */
  executionId: string | null;
  nodeId: string;
  /**
   * scope returns what completion proposes: the run's data for the node, or what is known without
   * one. It is called when completion asks, so that what it costs to work out (the output shapes of
   * every node upstream) is never paid by a panel that does not complete.
   */
  scope: () => ExpressionScope;
  workflowId: string;
}

/** ExpressionTargetContext gives expression fields their node, its last run and the data for completion; without it they are plain editors with no preview against data. */
export const ExpressionTargetContext = createContext<ExpressionTarget | null>(null);
