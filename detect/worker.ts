import { parentPort, workerData } from 'node:worker_threads';
import { scoreJobs, type DetectorJob, type JobOptions } from './run.ts';
import type { DetectorSpec } from '../core/scenario.ts';
import type { Series } from '../core/series.ts';

// A detector worker: scores its share of the series and posts the alarms and errors back.
const { jobs, specs, options, pool } = workerData as { jobs: DetectorJob[]; specs: DetectorSpec[]; options: JobOptions; pool: Series[] };
parentPort!.postMessage(await scoreJobs(jobs, specs, options, pool));
