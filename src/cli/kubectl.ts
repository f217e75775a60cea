// `kubectl netform`: the kubectl plugin (bin/kubectl-netform.mjs; kubectl finds an executable named
// kubectl-netform on the PATH). It reads the cluster through its kubeconfig and never writes, except
// `approve`, which sets one annotation. plan: the cluster's netform objects planned against their own
// statuses, as `netform plan` does for a directory; status: `netform status` from the objects;
// approve: lets netform apply exactly the plan an object's status holds.
import { Command, CommanderError, Option } from 'commander';
import { loadConfig, type Config, type Flags } from '../config.ts';
import { loadCrds } from '../api/crds.ts';
import { KINDS, objectKey, type Kind } from '../api/kinds.ts';
import { builtinDrivers, type DriverRegistry } from '../drivers/registry.ts';
import { createLogger } from '../log.ts';
import { KubeClient } from '../adapters/kube/client.ts';
import { resourceTypes } from '../adapters/kube/resources.ts';
import { approvePlan, readCluster } from '../adapters/kube/snapshot.ts';
import { formatAdmissionError } from '../state/admit.ts';
import { CLUSTER_UNKNOWN_HOST, kubectlApproveCommand, planAgainstCluster } from './cluster-plan.ts';
import { planText } from './plan-output.ts';
import { statusTable } from './render.ts';

export interface KubectlDeps {
  registry?: DriverRegistry;
  stdout?: NodeJS.WritableStream;
  stderr?: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** A kind as kubectl users name it: `Network`, `network`, `networks`, `nnet`, `networks.netform.io`. */
export function resolveKind(word: string): Kind | undefined {
  const w = word.toLowerCase().replace(/\.netform\.io$/, '');
  for (const crd of loadCrds()) {
    if ([crd.kind.toLowerCase(), crd.plural, crd.singular, ...crd.shortNames].includes(w) && KINDS.includes(crd.kind as Kind)) return crd.kind as Kind;
  }
  return undefined;
}

/** `KIND/NAME` or, like netform's object keys, `KIND/NAMESPACE/NAME`, with an optional `-n`; a
 *  namespaced kind defaults to the context's namespace. */
export function parseObjectRef(ref: string, namespaceFlag: string | undefined, contextNamespace: string | undefined): { kind: Kind; name: string; namespace?: string } {
  const parts = ref.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !p)) throw new Error(`name the object as KIND/NAME or KIND/NAMESPACE/NAME (e.g. network/web), not "${ref}"`);
  const kind = resolveKind(parts[0]!);
  if (!kind) throw new Error(`"${parts[0]}" is not a netform kind (${KINDS.join(', ')})`);
  const namespaced = resourceTypes()[kind].namespaced;
  const [given, name] = parts.length === 3 ? [parts[1], parts[2]!] : [undefined, parts[1]!];
  if (given && namespaceFlag && given !== namespaceFlag) throw new Error(`${ref} names namespace ${given}, -n names ${namespaceFlag}`);
  const ns = given ?? namespaceFlag;
  if (!namespaced) {
    if (given) throw new Error(`${kind} is cluster-scoped: name it as ${parts[0]}/${name}`);
    return { kind, name };
  }
  return { kind, name, namespace: ns ?? contextNamespace ?? 'default' };
}

/** Runs the plugin and returns the exit code. */
export async function kubectlMain(argv: string[], deps: KubectlDeps = {}): Promise<number> {
  const out = deps.stdout ?? process.stdout;
  const err = deps.stderr ?? process.stderr;
  const print = (s: string) => out.write(s.endsWith('\n') ? s : `${s}\n`);
  const eprint = (s: string) => err.write(s.endsWith('\n') ? s : `${s}\n`);
  let code = 0;
  const program = new Command('kubectl netform')
    .description('netform in a Kubernetes cluster: plan, status and approvals of the netform objects, read through your kubeconfig')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out.write(s), writeErr: (s) => err.write(s) })
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (default warn)')
    .option('--instance <name>', 'the netform installation whose owner markers the backends carry (as the controller\'s --instance)');

  const g = () => program.opts<{ kubeconfig?: string; context?: string; logLevel?: string; instance?: string }>();
  const env = deps.env ?? process.env;
  const cfg = (local: Flags = {}): Config => loadConfig({ logLevel: g().logLevel ?? env.NETFORM_LOG_LEVEL ?? 'warn', instance: g().instance, kubeconfig: g().kubeconfig, ...local } as Flags, env);
  const connect = (c: Config) => KubeClient.load({ kubeconfig: c.kubeconfig, context: g().context });

  program
    .command('plan')
    .description(
      'what the controller would change: the cluster\'s netform objects planned against their own statuses (backends observed read-only; hosts as of their agents\' reports), with the impact on VMs and the plans waiting for approval. Exit 0 no changes, 2 changes pending, 1 error',
    )
    .option('--require-host-reports', 'fail (exit 1) when a Host\'s changes are unknown')
    .option('--controller-namespace <ns>', 'where Secrets named without a namespace live: the controller\'s namespace (default $POD_NAMESPACE, else netform-system)')
    .addOption(new Option('-o, --output <format>', 'output format (json: the plan document, schemas/plan.v1.json)').choices(['text', 'json']).default('text'))
    .action(async (o: { output: string; requireHostReports?: boolean; controllerNamespace?: string }) => {
      const c = cfg({ namespace: o.controllerNamespace });
      const client = connect(c);
      try {
        const plan = await planAgainstCluster({ client, config: c, registry: deps.registry ?? builtinDrivers(), log: createLogger({ level: c.logLevel }), requireHostReports: o.requireHostReports });
        for (const e of plan.admission.errors) eprint(formatAdmissionError(e));
        if (o.output === 'json') print(JSON.stringify(plan.doc, null, 2));
        else print(planText(plan, { unknownHost: CLUSTER_UNKNOWN_HOST, approve: (p) => kubectlApproveCommand(p.object, p.digest) }));
        code = plan.doc.exitCode;
      } finally {
        await client.close();
      }
    });

  program
    .command('status')
    .description('the status of every netform object in the cluster, as netform status shows a state directory')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(async (o: { output: string }) => {
      const client = connect(cfg());
      try {
        const { records } = await readCluster(client);
        if (o.output === 'json') {
          print(JSON.stringify(records.map((r) => ({ key: r.key, kind: r.kind, name: r.name, namespace: r.namespace, generation: r.generation, status: r.status })), null, 2));
        } else if (!records.length) {
          print(`no netform objects in the cluster at ${client.server}`);
        } else {
          print(statusTable(records, new Date()));
        }
      } finally {
        await client.close();
      }
    });

  program
    .command('approve')
    .description(
      'approve the plan an object waits with (status.pendingPlan) for exactly its digest: sets the annotation netform.io/approved-plan. Refused (exit 1) when nothing is pending or the plan changed since',
    )
    .argument('<object>', 'KIND/NAME or KIND/NAMESPACE/NAME, e.g. network/web or host/hv1')
    .requiredOption('--plan <digest>', 'the digest the plan was shown with (sha256:…)')
    .option('-n, --namespace <ns>', 'namespace of a namespaced object (default: the context\'s, else default)')
    .action(async (ref: string, o: { plan: string; namespace?: string }) => {
      if (!DIGEST.test(o.plan)) throw new Error(`--plan takes a plan digest, sha256: and 64 hex digits, not "${o.plan}"`);
      const client = connect(cfg());
      try {
        const kc = client.config;
        const { kind, name, namespace } = parseObjectRef(ref, o.namespace, kc.getContextObject(kc.getCurrentContext())?.namespace);
        const key = objectKey(kind, name, namespace);
        const r = await approvePlan(client, resourceTypes()[kind], name, namespace, o.plan);
        switch (r.outcome) {
          case 'not-found':
            eprint(`approve: there is no ${key} in the cluster`);
            code = 1;
            return;
          case 'nothing-pending':
            eprint(`approve: ${key} has no plan waiting for approval (its status has no pendingPlan): nothing approved`);
            code = 1;
            return;
          case 'plan-changed':
            eprint(`approve: ${key}: the plan changed since: now ${r.now}; nothing approved`);
            for (const line of describePending(r.pendingPlan)) eprint(`    ${line}`);
            code = 1;
            return;
          default:
            print(`${r.outcome === 'approved' ? 'approved' : 'already approved'}: ${key} for plan ${o.plan}`);
            for (const line of describePending(r.pendingPlan)) print(`    ${line}`);
            code = 0;
        }
      } finally {
        await client.close();
      }
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 1;
    eprint(`kubectl netform: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
  return code;
}

/** A pending plan's summary, impact and change lines. */
function describePending(p: Record<string, unknown>): string[] {
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  const lines: string[] = [];
  const head = [str(p.summary), str(p.impact) ? `impact: ${str(p.impact)}` : undefined].filter(Boolean).join('; ');
  if (head) lines.push(head);
  if (Array.isArray(p.changes)) for (const c of p.changes) if (typeof c === 'string') lines.push(c);
  return lines;
}
