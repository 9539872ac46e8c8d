// Evidence as text in spans: the record layer's formatter (record/source-text.ts).

import { formatSource } from '../record/source-text.js';

export const sourceRef = formatSource;
