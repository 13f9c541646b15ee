// The deployforge command line: global flags, command registration and the single place where
// errors become one line of output and an exit code. `runCli` runs in-process (tests call it);
// bin/deployforge.js wires it to the real process.
import { Command, CommanderError, Option } from 'commander';
import pc from 'picocolors';
import { type LoadedConfig, loadConfig } from '../config.js';
import { type DeployForgeError, toDeployForgeError, UsageError } from '../errors.js';
import { throttleProgress } from '../progress.js';
import { VERSION } from '../version.js';
import { registerBuildCommand } from './commands/build.js';
import { registerConfigCommand } from './commands/config.js';
import { registerInspectCommand } from './commands/inspect.js';
import { registerIsoCommand } from './commands/iso.js';
import { registerPlanCommand } from './commands/plan.js';
import { registerPpkgCommand } from './commands/ppkg.js';
import { registerProfilesCommand } from './commands/profiles.js';
import { registerRecipeCommand } from './commands/recipe.js';
import { registerRegCommand } from './commands/reg.js';
import { registerSampleMediaCommand } from './commands/sample-media.js';
import { registerUnattendCommand } from './commands/unattend.js';
import { registerVerifyCommand } from './commands/verify.js';
import { registerWimCommand } from './commands/wim.js';
import { type CliContext, type CliIO, type GlobalOptions, wantsColor } from './context.js';
import { chooseProgressMode, createProgressRenderer, type ProgressRenderer } from './progress-render.js';

export { VERSION };

/** Lazily built per run: commands that need the configuration call `ctx()` then `config()`. */
export interface CommandEnv {
  ctx(): CliContext;
  config(): Promise<LoadedConfig>;
}

function parseSet(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new UsageError('DF_USAGE', `--set expects KEY=VALUE, got '${value}'`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

export function buildProgram(io: CliIO, state: { renderer?: ProgressRenderer; globals?: GlobalOptions }): { program: Command; env: CommandEnv } {
  const program = new Command('deployforge');
  program
    .description('Build customized Windows deployment media (ISO, WIM, ESD) from declarative recipes, on Linux.')
    .version(VERSION, '-V, --version')
    .option('--json', 'machine-readable output (JSON on stdout, progress as JSON lines on stderr)', false)
    .option('-v, --verbose', 'show stack traces and debug detail', false)
    .option('-q, --quiet', 'print only results and errors', false)
    .option('--no-color', 'no colors (NO_COLOR in the environment does the same)')
    .option('--config <file>', 'configuration file to use instead of ./deployforge.config.yaml')
    .addOption(new Option('--set <key=value>', 'override a configuration value (repeatable)').argParser(parseSet).default({}))
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      outputError: () => {},
    });

  let loaded: Promise<LoadedConfig> | undefined;
  let context: CliContext | undefined;
  const env: CommandEnv = {
    ctx() {
      if (context) return context;
      const o = program.opts();
      const globals: GlobalOptions = { json: Boolean(o.json), verbose: Boolean(o.verbose), quiet: Boolean(o.quiet), color: o.color !== false, config: o.config, set: o.set ?? {} };
      state.globals = globals;
      const colors = pc.createColors(wantsColor(io, globals.color));
      const mode = chooseProgressMode({ json: globals.json, quiet: globals.quiet, configured: io.env.DEPLOYFORGE_PROGRESS ?? 'auto', isTTY: io.stderr.isTTY === true });
      const renderer = createProgressRenderer(mode, io);
      state.renderer = renderer;
      context = {
        io,
        options: globals,
        colors,
        progress: throttleProgress(renderer),
        say(line) {
          if (!globals.quiet && !globals.json) io.stdout.write(`${line}\n`);
        },
        result(value, text) {
          if (globals.json) io.stdout.write(`${JSON.stringify(value, jsonReplacer, 2)}\n`);
          else io.stdout.write(`${text()}\n`);
        },
      };
      return context;
    },
    config() {
      const c = env.ctx();
      loaded ??= loadConfig({ env: io.env, cwd: io.cwd, flags: c.options.set, projectFile: c.options.config });
      return loaded;
    },
  };

  registerInspectCommand(program, env);
  registerConfigCommand(program, env);
  registerSampleMediaCommand(program, env);
  registerRegCommand(program, env);
  registerIsoCommand(program, env);
  registerWimCommand(program, env);
  registerPpkgCommand(program, env);
  registerRecipeCommand(program, env);
  registerProfilesCommand(program, env);
  registerPlanCommand(program, env);
  registerBuildCommand(program, env);
  registerVerifyCommand(program, env);
  registerUnattendCommand(program, env);
  return { program, env };
}

/** bigint and Uint8Array values appear in reports; show them as JSON can. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  return value;
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function runCli(argv: string[], io: CliIO): Promise<number> {
  const state: { renderer?: ProgressRenderer; globals?: GlobalOptions } = {};
  const { program } = buildProgram(io, state);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (thrown) {
    if (thrown instanceof CommanderError) {
      if (thrown.exitCode === 0) return 0;
      const message = thrown.message.replace(/^error: /, '');
      return reportError(new UsageError('DF_USAGE', `${message} (run 'deployforge --help')`), io, argv);
    }
    return reportError(toDeployForgeError(thrown), io, argv, thrown);
  } finally {
    state.renderer?.stop();
  }
}

function reportError(error: DeployForgeError, io: CliIO, argv: string[], original?: unknown): number {
  const json = argv.includes('--json');
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  const oneLine = error.message.replace(/\s*\n\s*/g, ' ');
  if (json) {
    io.stderr.write(`${JSON.stringify({ error: { code: error.code, kind: error.kind, message: oneLine, exitCode: error.exitCode } })}\n`);
  } else {
    const colors = pc.createColors(wantsColor({ ...io, stdout: io.stderr }, !argv.includes('--no-color')));
    io.stderr.write(`${colors.red('deployforge: error:')} ${oneLine} [${error.code}]\n`);
  }
  if (verbose) {
    const stack = (original instanceof Error ? original.stack : undefined) ?? error.stack;
    if (stack) io.stderr.write(`${stack}\n`);
  }
  return error.exitCode;
}
