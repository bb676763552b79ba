// How many Playwright workers run the browser tests, each against a server of its own (global-setup.ts).

/**
 * e2eWorkers is the number of Playwright workers: CM_E2E_WORKERS, 1 by default. Each has its own
 * server, database and plugin folder, so that tests running at the same time share nothing. One is
 * the default because on 2 cores the browsers and servers already keep both busy: two workers took as
 * long (12.9 against 12.4 minutes) and timed delays in the tests ran out.
 * @returns {number}
 */
export function e2eWorkers() {
  const n = Number(process.env.CM_E2E_WORKERS || 1);
  if (!Number.isInteger(n) || n < 1) throw new Error(`CM_E2E_WORKERS must be a positive whole number, not ${process.env.CM_E2E_WORKERS}`);
  return n;
}

/**
 * workerEnv reads a per-worker setting that global-setup.ts left in the environment (NAME_<index>),
 * for the worker this code runs in (Playwright's TEST_PARALLEL_INDEX, 0 outside a worker).
 * @param {string} name
 * @returns {string}
 */
export function workerEnv(name) {
  const key = `${name}_${process.env.TEST_PARALLEL_INDEX || 0}`;
  const v = process.env[key];
  if (v === undefined) throw new Error(`${key} is not set: the browser tests run through playwright test (global-setup.ts sets it)`);
  return v;
}
