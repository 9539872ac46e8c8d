// Words for v2 ops in messages and evidence: the tracker's (track/v2-op-text.ts).
export * from '../../track/v2-op-text.js';
