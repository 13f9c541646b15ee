// Progress events and the sink every long operation reports to. Library code only emits events;
// the CLI decides how to show them (bars on a TTY, JSON lines with --json, nothing with --quiet),
// and the future API streams the same events.

export type ProgressUnit = 'bytes' | 'items' | 'files' | 'steps';

export interface ProgressEvent {
  /** What is happening, stable and short: 'capture install.wim', 'write iso'. */
  phase: string;
  done: number;
  /** Unknown totals are undefined; renderers then show a counter instead of a bar. */
  total?: number;
  unit: ProgressUnit;
}

export interface ProgressSink {
  emit(event: ProgressEvent): void;
}

export const silentProgress: ProgressSink = { emit() {} };

/** Rate-limits a sink per phase so a tight loop does not flood renderers; the final event of a
 *  phase (done === total) always passes. */
export function throttleProgress(sink: ProgressSink, intervalMs = 100, now: () => number = Date.now): ProgressSink {
  const last = new Map<string, number>();
  return {
    emit(event) {
      const t = now();
      const previous = last.get(event.phase);
      const finished = event.total !== undefined && event.done >= event.total;
      if (!finished && previous !== undefined && t - previous < intervalMs) return;
      last.set(event.phase, t);
      sink.emit(event);
    },
  };
}
