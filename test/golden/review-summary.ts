// Prints, for every golden input, what migscope says about it in a few lines of markdown
// (devices, sessions with outcomes, findings with their messages): the raw material of
// test/golden/REVIEW.md, whose verdicts on each input are written by a person.
//
//   npx tsc -p tsconfig.json && node dist/test/golden/review-summary.js [input...] > /tmp/now.md

import { join } from 'node:path';
import { runAnalysis } from '../../src/cli/analyze.js';
import { InputError } from '../../src/cli/pipeline.js';
import { labFixtures, REPO_ROOT, sampleTraces } from './inputs.js';
import type { Analysis } from '../../src/analysis/types.js';

function where(s: { readonly file: string; readonly line?: number; readonly byteOffset?: number }): string {
  const f = s.file.split(`${REPO_ROOT}/`).join('').replace(/^.*\//, '');
  return s.line !== undefined ? `${f}:${s.line}` : s.byteOffset !== undefined ? `${f}@${s.byteOffset}` : f;
}

/** A finding message's first sentence (the rest explains the rule, which the spec does too). */
function firstSentence(m: string): string {
  const i = m.search(/\.\s/);
  return i < 0 ? m : m.slice(0, i + 1);
}

function describeAnalysis(a: Analysis): string[] {
  const out: string[] = [];
  const i = a.input;
  out.push(`- input: ${i.files.map((f) => f.format).join(', ')}; ${i.records} records, ${i.malformed} malformed, ${i.lostEvents} lost, ${i.gaps.length} gaps, ${i.problems.length + i.problemsDropped} problems`);
  for (const p of i.problems.slice(0, 3)) out.push(`  - problem ${where(p.src)}: ${p.message}`);
  for (const d of a.devices) {
    const states: string[] = [];
    for (const iv of d.timeline) {
      const s = `${iv.state}${iv.certainty === 'known' ? '' : `(${iv.certainty})`}`;
      if (states[states.length - 1] !== s) states.push(s);
    }
    out.push(`- device \`${d.id}\` (${d.naming}, ${d.protocol}, fd ${d.fd}${d.pid !== undefined ? `, pid ${d.pid}` : ''}${d.region !== undefined ? `, region ${d.region.source}` : ', no region'}): ${states.join(' → ') || 'no timeline'}; ${d.stateWrites.length} state writes${d.resets > 0 ? `, ${d.resets} resets` : ''}`);
    for (const s of d.sessions) out.push(`  - session ${s.kind} **${s.outcome}**${s.partial === true ? ' (partial)' : ''}: ${s.iterations} iterations, ${s.bytes} bytes, ${s.pending.length} pending samples, states ${s.states.join('→')}${s.reason !== undefined ? `; reason: ${s.reason}` : ''}`);
  }
  if (a.findings.length === 0) out.push('- findings: none');
  for (const f of a.findings) {
    out.push(`- finding **${f.severity.toUpperCase()} ${f.rule}** blame ${f.blame}, device \`${f.device}\`, ${f.certainty}: ${firstSentence(f.message)} [${f.evidence.map((e) => where(e.src)).join(', ')}]`);
  }
  return out;
}

async function main(args: readonly string[]): Promise<void> {
  const inputs = args.length > 0 ? args : [...labFixtures(), ...sampleTraces()];
  for (const input of inputs) {
    process.stdout.write(`### ${input.replace(/^test\/fixtures\//, '')}\n`);
    try {
      const a = await runAnalysis([join(REPO_ROOT, input)], { failOn: 'error', eagainLimit: '3', quiet: true });
      process.stdout.write(describeAnalysis(a).join('\n') + '\n\n');
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      process.stdout.write(`- refused (exit 2): ${e.message.split(`${REPO_ROOT}/`).join('')}\n\n`);
    }
  }
}

await main(process.argv.slice(2));
