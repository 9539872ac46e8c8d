// The page's script, assembled from the client/ factories by their source text.
//
// Why source text: the page must be one self-contained file that works from src/ (tests,
// via vitest's transform) and from dist/ (tsc output) without a bundler step. Each
// client/*.ts file exports one factory function that uses nothing from outside its own
// body (type imports are erased); Function.prototype.toString gives its compiled source,
// and client/main.ts wires the factories together. The browser tests fail if a factory
// ever reaches outside itself (a ReferenceError is a page error).

import { curvesModule } from './client/curves.js';
import { decodeModule } from './client/decode.js';
import { deviceTablesModule } from './client/device-tables.js';
import { domModule } from './client/dom.js';
import { findingsViewModule } from './client/findings-view.js';
import { formatModule } from './client/format.js';
import { type ClientFactories, mainModule } from './client/main.js';
import { markersModule } from './client/markers.js';
import { migrationsViewModule } from './client/migrations-view.js';
import { pagerModule } from './client/pager.js';
import { recordViewModule } from './client/record-view.js';
import { summaryViewModule } from './client/summary-view.js';
import { timelineDrawModule } from './client/timeline-draw.js';
import { timelineModule } from './client/timeline.js';

const FACTORIES: ClientFactories = {
  formatModule,
  domModule,
  decodeModule,
  pagerModule,
  recordViewModule,
  timelineDrawModule,
  markersModule,
  timelineModule,
  curvesModule,
  summaryViewModule,
  findingsViewModule,
  deviceTablesModule,
  migrationsViewModule,
};

let cached: string | undefined;

/** The page script; expects uPlot's global `uPlot` from the script before it. */
export function clientScript(): string {
  if (cached !== undefined) return cached;
  const entries = Object.entries(FACTORIES).map(([name, fn]: [string, (...args: never[]) => unknown]) => `  ${name}: (${fn.toString()}),`);
  cached = `(function () {\n"use strict";\nconst factories = {\n${entries.join('\n')}\n};\n(${mainModule.toString()})(factories, uPlot);\n})();\n`;
  return cached;
}
