// The words rules use in messages and evidence: the tracker's (track/op-text.ts), so a
// finding describes a record exactly as the facts it reads do.
export * from '../track/op-text.js';
