// The deployforge command line: global flags, command registration and the single place where
// errors become one line of output and an exit code. `runCli` runs in-process (tests call it);
// bin/deployforge.js wires it to the real process.
import { Command, CommanderError, Option } from 'commander';
import pc from 'picocolors';
import type { LoadedConfig } from '../config.js';
import { type DeployForgeError, toDeployForgeError, UsageError } from '../errors.js';
import { throttleProgress } from '../progress.js';
import { VERSION } from '../version.js';
import { type CliContext, type CliIO, type GlobalOptions, wantsColor } from './context.js';
import { chooseProgressMode, createProgressRenderer, type ProgressRenderer } from './progress-render.js';

export { VERSION };

type Register = (program: Command, env: CommandEnv) => void;

/** Each command's module, loaded only when the command runs (or for help over all of them):
 *  loading every command's dependencies took most of a run's start-up. In help order. */
const COMMANDS: Record<string, () => Promise<Register>> = {
  inspect: async () => (await import('./commands/inspect.js')).registerInspectCommand,
  config: async () => (await import('./commands/config.js')).registerConfigCommand,
  'sample-media': async () => (await import('./commands/sample-media.js')).registerSampleMediaCommand,
  reg: async () => (await import('./commands/reg.js')).registerRegCommand,
  iso: async () => (await import('./commands/iso.js')).registerIsoCommand,
  wim: async () => (await import('./commands/wim.js')).registerWimCommand,
  ppkg: async () => (await import('./commands/ppkg.js')).registerPpkgCommand,
  recipe: async () => (await import('./commands/recipe.js')).registerRecipeCommand,
  profiles: async () => (await import('./commands/profiles.js')).registerProfilesCommand,
  plan: async () => (await import('./commands/plan.js')).registerPlanCommand,
  build: async () => (await import('./commands/build.js')).registerBuildCommand,
  rollback: async () => (await import('./commands/build.js')).registerBuildCommand, // registered with build
  verify: async () => (await import('./commands/verify.js')).registerVerifyCommand,
  unattend: async () => (await import('./commands/unattend.js')).registerUnattendCommand,
};

/** The command `argv` runs (its first word that is neither a global flag nor a flag's value),
 *  or undefined when there is none, it is not one of ours, or help comes before it (help then
 *  lists them all). */
export function commandNamed(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (word === '--' || word === '--help' || word === '-h') return undefined;
    if (word === '--config' || word === '--set') {
      i++; // its value
      continue;
    }
    if (word.startsWith('-')) continue;
    return Object.hasOwn(COMMANDS, word) ? word : undefined;
  }
  return undefined;
}

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

/** The program with the command `argv` runs, or with every command when it names none of them. */
export async function buildProgram(
  io: CliIO,
  state: { renderer?: ProgressRenderer; globals?: GlobalOptions },
  argv: readonly string[] = [],
): Promise<{ program: Command; env: CommandEnv }> {
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
      // (Loaded here: the YAML and schema libraries are a third of the start-up of commands that
      // never read the configuration.)
      loaded ??= import('../config.js').then(({ loadConfig }) => loadConfig({ env: io.env, cwd: io.cwd, flags: c.options.set, projectFile: c.options.config }));
      return loaded;
    },
  };

  const named = commandNamed(argv);
  const wanted = named ? [named] : Object.keys(COMMANDS);
  // (A module that registers two commands is loaded once and registered once.)
  const registers = new Set(await Promise.all(wanted.map((name) => COMMANDS[name]())));
  for (const register of registers) register(program, env);
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
  const { program } = await buildProgram(io, state, argv);
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
