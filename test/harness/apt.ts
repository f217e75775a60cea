// Installs missing Debian packages for a test harness, so the README's `npm test` passes on a fresh
// machine without `.ci/run` (which installs the same set up front: test/harness/install-tools.sh).
import { execFileSync } from 'node:child_process';

function onPath(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Makes sure each command exists, installing its package (command → package) with apt-get if not. */
export function ensureCommands(packages: Record<string, string>): void {
  const missing = [...new Set(Object.entries(packages).filter(([cmd]) => !onPath(cmd)).map(([, pkg]) => pkg))];
  if (!missing.length) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env, stdio: 'ignore', timeout: 600_000 });
  try {
    install();
  } catch {
    execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore', timeout: 600_000 });
    install();
  }
}
