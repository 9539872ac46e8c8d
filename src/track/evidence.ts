// Evidence: a record that shows something, and what it shows in words. The tracker keeps
// it with the facts it derives (the op that established a state, that started a session),
// so that every finding and every session outcome cites the same lines.

import type { Source } from '../record/types.js';

export interface Evidence {
  readonly src: Source;
  /** Short description of what the record shows. */
  readonly what: string;
}
