// Settings of the chaos tests: the size (NETFORM_CHAOS_N), the seed (NETFORM_CHAOS_SEED, printed so a
// failure replays), a run id and a VLAN block of their own on the shared Neutron.
import { appendFileSync } from 'node:fs';
import { reserveVlans } from '../support/vlans.ts';

export interface ChaosSettings {
  networks: number;
  seed: number;
  id: string;
  vlanBase: number;
  timeoutMs: number;
}

export function chaosSettings(name: string): ChaosSettings {
  const networks = Number(process.env.NETFORM_CHAOS_N ?? 12);
  const seed = Number(process.env.NETFORM_CHAOS_SEED ?? Math.floor(Math.random() * 1e9));
  const id = `${name.slice(0, 2)}${Math.random().toString(36).slice(2, 6)}`;
  // Pool VLANs [base, base+n), fixed VLANs [base+n, base+2n) of physnet1: within 3000..3899, clear of
  // the fixed VLANs of other tests (2101–2110) and of UCS Manager's reserved block (3915–4042), and
  // reserved against every other file of this run (test/support/vlans.ts).
  const vlanBase = reserveVlans('physnet1', 2 * networks, 3000, 3899);
  // About 1 s per network under faults, and a floor for start-up.
  const timeoutMs = Math.max(300_000, networks * 4_000);
  return { networks, seed, id, vlanBase, timeoutMs };
}

/** Prints the figures (and appends them to NETFORM_CHAOS_REPORT when set, for npm run chaos). */
export function report(test: string, cfg: ChaosSettings, lines: string[]): void {
  const text = lines.map((l) => `[chaos ${test} seed=${cfg.seed} n=${cfg.networks}] ${l}`).join('\n');
  console.log(text);
  if (process.env.NETFORM_CHAOS_REPORT) appendFileSync(process.env.NETFORM_CHAOS_REPORT, text + '\n');
}
