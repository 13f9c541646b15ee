// Boots an ISO in headless QEMU (SeaBIOS or OVMF) and watches COM1 for an expected text, so
// tests can prove that media really boot. QEMU is always killed before bootIso returns, and
// any still running are killed when the test process exits or is interrupted.
// It deliberately does not type keys, take screenshots, keep firmware variables between runs, or
// use any disk but the one CD-ROM.
import { type ChildProcess, spawn } from 'node:child_process';
import { constants, existsSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { EnvironmentError, ToolError } from '../../src/errors.js';
import { hasTool, runTool } from '../../src/util/exec.js';

export const QEMU_PROGRAM = 'qemu-system-x86_64';
export const SEABIOS_PATH = '/usr/share/seabios/bios-256k.bin';
export const OVMF_PATH = '/usr/share/ovmf/OVMF.fd';

export type Firmware = 'bios' | 'uefi';
export type Accel = 'kvm' | 'tcg';

export interface BootOptions {
  firmware: Firmware;
  /** Text to wait for on COM1; matched against the raw output and against it with ANSI escape
   *  sequences removed (OVMF draws its console with cursor moves between words). */
  expect: string | RegExp;
  /** Give up (and kill QEMU) after this long; default 120000. */
  timeoutMs?: number;
  /** 'tcg' (default), 'kvm', or 'auto' (KVM when usable, retried under TCG if KVM fails to run
   *  the guest); the environment variable DEPLOYFORGE_QEMU_ACCEL=kvm|tcg|auto overrides it. */
  accel?: Accel | 'auto';
}

export interface BootResult {
  seen: boolean;
  /** Everything the guest wrote to COM1, one character per byte (latin1). */
  serial: string;
  /** From the first QEMU start to the match or the time limit, including a failed KVM try. */
  elapsedMs: number;
  accel: Accel;
}

const FIRMWARE_PATH: Readonly<Record<Firmware, string>> = { bios: SEABIOS_PATH, uefi: OVMF_PATH };
// OVMF 2022 needs more than SeaBIOS to reach its boot manager; 512 MiB is ample for both.
const MEMORY_MIB: Readonly<Record<Firmware, number>> = { bios: 256, uefi: 512 };
const MAX_SERIAL_BYTES = 4 * 1024 * 1024;

/** True when QEMU and the firmware for `firmware` (or both firmwares) are installed. */
export async function qemuAvailable(firmware?: Firmware): Promise<boolean> {
  if (!(await hasTool(QEMU_PROGRAM))) return false;
  const needed = firmware ? [FIRMWARE_PATH[firmware]] : Object.values(FIRMWARE_PATH);
  return needed.every((path) => existsSync(path));
}

let kvmProbe: Promise<boolean> | undefined;

/** True when /dev/kvm opens read-write and QEMU reports KVM enabled on it. This cannot prove
 *  every guest runs (nested KVM may still fail mid-boot), hence the TCG retry in bootIso. */
export function kvmUsable(): Promise<boolean> {
  kvmProbe ??= (async () => {
    try {
      await access('/dev/kvm', constants.R_OK | constants.W_OK);
      const probe = await runTool(QEMU_PROGRAM, ['-accel', 'kvm', '-machine', 'none', '-nodefaults', '-display', 'none', '-S', '-monitor', 'stdio'], {
        input: 'info kvm\nquit\n',
        timeoutMs: 20_000,
      });
      return /kvm support: enabled/.test(probe.stdout);
    } catch {
      return false;
    }
  })();
  return kvmProbe;
}

// Every QEMU this process started and has not yet seen exit.
const live = new Set<ChildProcess>();

function killAllLive(): void {
  for (const child of live) child.kill('SIGKILL');
}

function onSignal(signal: NodeJS.Signals): void {
  killAllLive();
  // Our listener replaced the default action; remove it and re-raise so the process still dies.
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  process.kill(process.pid, signal);
}

function track(child: ChildProcess): void {
  if (live.size === 0) {
    process.on('exit', killAllLive);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  live.add(child);
}

function untrack(child: ChildProcess): void {
  if (!live.delete(child) || live.size > 0) return;
  process.removeListener('exit', killAllLive);
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
}

/** How many QEMU processes started here are still running (0 after every bootIso). */
export function liveQemuCount(): number {
  return live.size;
}

/** Removes CSI (ESC [ … letter) and ESC-letter sequences: what the firmware's terminal emulation
 *  adds around text. */
export function stripAnsi(text: string): string {
  return text
    .replace(/\x1b\[[0-9;?=]*[A-Za-z]/g, '')
    .replace(/\x1b[()][0-9A-Za-z]/g, '')
    .replace(/\x1b[A-Za-z]/g, '');
}

function matcherFor(expect: string | RegExp): (text: string) => boolean {
  if (typeof expect === 'string') return (text) => text.includes(expect);
  // A global or sticky regex keeps state between test() calls; a plain copy does not.
  const pattern = new RegExp(expect.source, expect.flags.replace(/[gy]/g, ''));
  return (text) => pattern.test(text);
}

function driveArgument(isoPath: string): string {
  // QEMU option values separate keys with commas; a literal comma is written twice.
  // index=2 (secondary master) is where -cdrom puts it, replacing QEMU's default empty drive.
  return `file=${isoPath.replaceAll(',', ',,')},media=cdrom,readonly=on,format=raw,if=ide,index=2`;
}

function qemuArguments(isoPath: string, firmware: Firmware, accel: Accel): string[] {
  // biome-ignore format: option and value pairs stay on one line
  return [
    '-accel', accel,
    // Under KVM the host CPU model avoids warnings about features the default model asks for.
    ...(accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-m', String(MEMORY_MIB[firmware]),
    // -bios maps OVMF.fd read-only with no variable store: no state survives between runs.
    '-bios', FIRMWARE_PATH[firmware],
    '-display', 'none',
    '-monitor', 'none',
    '-serial', 'stdio',
    '-no-reboot',
    '-nic', 'none',
    '-boot', 'order=d',
    '-drive', driveArgument(isoPath),
  ];
}

interface RunOutcome {
  seen: boolean;
  serial: string;
  /** KVM could not run this guest: QEMU reported an internal error, or exited naming KVM. */
  kvmFailed: boolean;
}

function runOnce(isoPath: string, firmware: Firmware, accel: Accel, matches: (text: string) => boolean, deadline: number): Promise<RunOutcome> {
  return new Promise((resolvePromise, reject) => {
    const args = qemuArguments(isoPath, firmware, accel);
    const child = spawn(QEMU_PROGRAM, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    track(child);
    let serial = '';
    let stderr = '';
    let seen = false;
    let kvmInternalError = false;
    let stoppedByUs = false;
    let spawnError: Error | undefined;

    const stop = (): void => {
      if (stoppedByUs) return;
      stoppedByUs = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
    };
    const timer = setTimeout(stop, Math.max(0, deadline - Date.now()));

    child.stdout.on('data', (chunk: Buffer) => {
      serial += chunk.toString('latin1');
      if (serial.length > MAX_SERIAL_BYTES) serial = serial.slice(-MAX_SERIAL_BYTES);
      if (!seen && (matches(serial) || matches(stripAnsi(serial)))) {
        seen = true;
        stop();
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString('utf8')).slice(-64 * 1024);
      // QEMU pauses the guest rather than exiting after a KVM emulation failure.
      if (accel === 'kvm' && /KVM internal error|emulation failure/.test(stderr)) {
        kvmInternalError = true;
        stop();
      }
    });
    child.on('error', (error) => {
      spawnError = error;
      // A program that never started may not emit 'close'; settle here too (later calls no-op).
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        clearTimeout(timer);
        untrack(child);
        reject(new EnvironmentError('DF_TOOL_MISSING', `${QEMU_PROGRAM} is not installed: run 'apt-get install qemu-system-x86'`, { program: QEMU_PROGRAM }));
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      untrack(child);
      const failedAlone = !stoppedByUs && code !== 0;
      // Only failures that name KVM count as KVM failing; a bad ISO path fails under TCG too.
      if (accel === 'kvm' && !seen && (kvmInternalError || (failedAlone && /kvm/i.test(stderr)))) {
        resolvePromise({ seen, serial, kvmFailed: true });
        return;
      }
      if (spawnError || failedAlone) {
        const tail = stderr.trim().split('\n').slice(-5).join('\n');
        const how = spawnError ? spawnError.message : code !== null ? `exited with ${code}` : `died (${signal})`;
        reject(new ToolError('DF_TOOL_FAILED', `${QEMU_PROGRAM} ${how}: ${tail.split('\n').pop() ?? ''}`.trim(), [QEMU_PROGRAM, ...args].join(' '), code, tail));
        return;
      }
      resolvePromise({ seen, serial, kvmFailed: false });
    });
  });
}

// Firmware that KVM could not run in this process (e.g. OVMF under some nested KVM hosts):
// later 'auto' boots of it go straight to TCG instead of failing under KVM again.
const kvmFailedFor = new Set<Firmware>();

function chosenAccel(requested: BootOptions['accel']): Accel | 'auto' {
  const fromEnv = process.env.DEPLOYFORGE_QEMU_ACCEL;
  if (fromEnv === 'kvm' || fromEnv === 'tcg' || fromEnv === 'auto') return fromEnv;
  // TCG by default: on this workplace's machines (themselves VMs) OVMF under KVM sometimes stops
  // in its boot-failure dialog instead of failing fast, and SeaBIOS boots faster under TCG anyway.
  return requested ?? 'tcg';
}

/** Boots `isoPath` from CD-ROM and resolves once `expect` appears on COM1 or the time limit
 *  passes; QEMU has been killed by then in both cases. A guest that powers off or resets early
 *  resolves with seen = false; QEMU failing to run is a ToolError. */
export async function bootIso(isoPath: string, options: BootOptions): Promise<BootResult> {
  const matches = matcherFor(options.expect);
  const requested = chosenAccel(options.accel);
  const accel: Accel = requested === 'auto' ? ((await kvmUsable()) && !kvmFailedFor.has(options.firmware) ? 'kvm' : 'tcg') : requested;
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 120_000);

  let outcome = await runOnce(isoPath, options.firmware, accel, matches, deadline);
  if (outcome.kvmFailed && requested === 'auto') {
    kvmFailedFor.add(options.firmware);
    outcome = await runOnce(isoPath, options.firmware, 'tcg', matches, deadline);
    return { seen: outcome.seen, serial: outcome.serial, elapsedMs: Date.now() - started, accel: 'tcg' };
  }
  if (outcome.kvmFailed) {
    throw new ToolError('DF_TOOL_FAILED', `${QEMU_PROGRAM} could not run the guest under KVM: use DEPLOYFORGE_QEMU_ACCEL=tcg`, QEMU_PROGRAM, null, '');
  }
  // A guest that neither matched nor stopped before the time limit hung (firmware under TCG on a
  // heavily loaded machine does, rarely): boot it once more with a fresh limit. A guest that ran
  // and showed something else, or reset, is not retried; a real failure fails twice.
  if (!outcome.seen && Date.now() >= deadline) {
    outcome = await runOnce(isoPath, options.firmware, accel, matches, Date.now() + (options.timeoutMs ?? 120_000));
  }
  return { seen: outcome.seen, serial: outcome.serial, elapsedMs: Date.now() - started, accel };
}
