// Renders progress events: byte/item bars on a TTY (cli-progress), JSON lines with --json (on
// stderr, so stdout stays one JSON document), nothing with --quiet or when not a TTY.
import cliProgress from 'cli-progress';
import type { ProgressEvent, ProgressSink } from '../progress.js';
import type { CliIO } from './context.js';

export type ProgressMode = 'bars' | 'json' | 'none';

export interface ProgressRenderer extends ProgressSink {
  stop(): void;
}

function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

export function createJsonProgress(io: CliIO): ProgressRenderer {
  return {
    emit(event: ProgressEvent) {
      io.stderr.write(`${JSON.stringify({ type: 'progress', ...event })}\n`);
    },
    stop() {},
  };
}

export function createBarProgress(io: CliIO): ProgressRenderer {
  const multibar = new cliProgress.MultiBar(
    {
      stream: io.stderr as NodeJS.WritableStream,
      clearOnComplete: false,
      hideCursor: true,
      format: '{phase} [{bar}] {percentage}% {value_text}/{total_text}',
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  const text = (e: ProgressEvent, n: number | undefined) => (n === undefined ? '?' : e.unit === 'bytes' ? formatBytes(n) : String(n));
  return {
    emit(event) {
      let bar = bars.get(event.phase);
      const payload = { phase: event.phase.padEnd(24).slice(0, 24), value_text: text(event, event.done), total_text: text(event, event.total) };
      if (!bar) {
        bar = multibar.create(event.total ?? 0, event.done, payload);
        bars.set(event.phase, bar);
      }
      if (event.total !== undefined) bar.setTotal(event.total);
      bar.update(event.done, payload);
    },
    stop() {
      multibar.stop();
    },
  };
}

export function createProgressRenderer(mode: ProgressMode, io: CliIO): ProgressRenderer {
  if (mode === 'json') return createJsonProgress(io);
  if (mode === 'bars') return createBarProgress(io);
  return { emit() {}, stop() {} };
}

/** Chooses the mode from flags, config and the terminal. */
export function chooseProgressMode(opts: { json: boolean; quiet: boolean; configured: string; isTTY: boolean }): ProgressMode {
  if (opts.quiet) return 'none';
  if (opts.json) return 'json';
  if (opts.configured === 'json' || opts.configured === 'bars' || opts.configured === 'none') return opts.configured;
  return opts.isTTY ? 'bars' : 'none';
}
