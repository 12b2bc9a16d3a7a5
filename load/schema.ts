import * as z from 'zod';

/** The keys every load has; `timeout` defaults per kind. */
export function loadCommon(timeout: string) {
  return {
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, { error: 'expected lower-case letters, digits and dashes (at most 40)' }),
    /** the service it drives */
    target: z.string(),
    rate: z.string(),
    /** per-request deadline */
    timeout: z.string().default(timeout),
  };
}
