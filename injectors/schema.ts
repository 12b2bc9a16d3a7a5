import * as z from 'zod';

/** The keys every fault has: an id (default `fault-<n>`), when it starts and how long it lasts. */
export const faultTiming = {
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, { error: 'expected lower-case letters, digits and dashes (at most 40)' }).optional(),
  at: z.string(),
  duration: z.string(),
};
