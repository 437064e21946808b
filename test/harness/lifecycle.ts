// What a test process must clean up when it ends, however it ends: temp dirs and child processes.
// Servers are stopped by their own stop(); this is the backstop for the ones a failing test forgets.
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const tempDirs = new Set<string>();
const children = new Set<ChildProcess>();
let hooked = false;
const TEMP_PREFIX = 'pullguard-harness-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temp dirs left by harness processes that died without running exit handlers (SIGKILL, SIGTERM). */
function sweepOrphans(): void {
  for (const name of readdirSync(tmpdir())) {
    const m = new RegExp(`^${TEMP_PREFIX}(\\d+)-`).exec(name);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  sweepOrphans();
  // 'exit' handlers must be synchronous: kill, then remove.
  process.on('exit', () => {
    for (const child of children) child.kill('SIGKILL');
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** A fresh directory under the OS temp dir, removed when the process exits (or earlier by removeTempDir). */
export function makeTempDir(prefix: string): string {
  hookExit();
  // The pid in the name lets a later process sweep this dir if we die uncleanly.
  const dir = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}${process.pid}-${prefix}-`));
  tempDirs.add(dir);
  return dir;
}

export function removeTempDir(dir: string): void {
  tempDirs.delete(dir);
  rmSync(dir, { recursive: true, force: true });
}

/** Kill this child when the process exits, in case nobody stopped it. */
export function trackChild(child: ChildProcess): void {
  hookExit();
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/**
 * Prefix for spawning a child that the kernel kills if this process dies without running its
 * exit handlers (SIGKILL, crash): util-linux `setpriv --pdeathsig`, where it exists. Probed on first use, so a
 * process that only makes temp dirs starts no process.
 */
let dieWithParentPrefix: readonly string[] | undefined;
export function dieWithParent(): readonly string[] {
  dieWithParentPrefix ??= spawnSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore' }).status === 0 ? ['setpriv', '--pdeathsig', 'KILL', '--'] : [];
  return dieWithParentPrefix;
}
