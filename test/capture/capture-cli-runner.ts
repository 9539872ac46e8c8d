// `migscope capture` for the signal tests: the CLI's own runCapture (its SIGINT/SIGTERM
// handling included), runnable as a plain node process once compiled by the test.
//   node capture-cli-runner.js TRACER OUTPUT -- COMMAND ARGS...
import { runCapture } from '../../src/cli/capture.js';

const [tracer, output, sep, ...command] = process.argv.slice(2);
if (tracer === undefined || output === undefined || sep !== '--' || command.length === 0) {
  process.stderr.write('usage: capture-cli-runner TRACER OUTPUT -- COMMAND ARGS...\n');
  process.exit(64);
}
process.exitCode = await runCapture(command, { tracer, output, format: 'text', readWrite: false, waitCommand: process.env['WAIT_COMMAND'] ?? '1' });
