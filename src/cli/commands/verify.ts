// `deployforge verify OUT --lock recipe.lock.json`: does a built output still match what its build
// recorded? Exit 0 when it does; exit 3 (drift) when its size or SHA-256 differs, or when the
// lockfile lists no such output.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { verifyAgainstLock } from '../../build/lockfile.js';
import { InputError } from '../../errors.js';
import type { CommandEnv } from '../main.js';

export function registerVerifyCommand(program: Command, env: CommandEnv): void {
  program
    .command('verify')
    .description('check a built output against the lockfile its build wrote (drift detection)')
    .argument('<output>', 'an ISO, WIM, ESD or SWM a build wrote')
    .requiredOption('--lock <file>', 'the lockfile (<recipe>.lock.json)')
    .action(async (output: string, opts: { lock: string }) => {
      const ctx = env.ctx();
      const result = await verifyAgainstLock(resolve(ctx.io.cwd, output), resolve(ctx.io.cwd, opts.lock), ctx.progress);
      if (!result.expected) throw new InputError('DF_VERIFY_UNKNOWN', `${output}: ${opts.lock} lists no such output`);
      if (!result.matches) {
        throw new InputError(
          'DF_VERIFY_DRIFT',
          `${output} has changed since it was built: sha256 ${result.actual.sha256.slice(0, 16)}…, ${result.actual.size} bytes; the lockfile has ${result.expected.sha256.slice(0, 16)}…, ${result.expected.size} bytes`,
          { expected: result.expected, actual: result.actual },
        );
      }
      ctx.result(result, () => `${output} matches ${opts.lock} (sha256 ${result.actual.sha256})`);
    });
}
