import { waitFor } from '../helpers/wait';
import { ClusterProject, docker, RABBITMQ_NODES, REDIS_NODES } from './cluster-project';

// Every rabbitmqctl call boots an Erlang VM, a second or two of CPU on the 2-core CI machine: poll the CLI gently.
const CLI_POLL_MS = 3000;

/** The service name of a RabbitMQ node name: rabbit@rabbitmq-2 → rabbitmq-2. */
const serviceOf = (node: string) => node.replace(/^rabbit@/, '');

/** Asks the first node that answers; a stopped or cut-off node cannot. */
async function ask(project: ClusterProject, ...args: string[]): Promise<string> {
  let last: unknown;
  for (const node of RABBITMQ_NODES) {
    try {
      return await project.rabbit(node, ...args);
    } catch (error) {
      last = error;
    }
  }
  throw last;
}

/** The node leading the most of the given quorum queues (each queue's Raft leader takes its deliveries and acks). */
export async function leaderOf(project: ClusterProject, queues: readonly string[]): Promise<string> {
  const rows = JSON.parse(
    await ask(project, 'rabbitmqctl', '-q', 'list_queues', '-p', 'warren', 'name', 'leader', '--formatter', 'json'),
  ) as {
    name: string;
    leader: string;
  }[];
  const votes = new Map<string, number>();
  for (const row of rows.filter((r) => queues.includes(r.name))) votes.set(row.leader, (votes.get(row.leader) ?? 0) + 1);
  const [leader] = [...votes.entries()].sort((a, b) => b[1] - a[1])[0] ?? [];
  if (!leader) throw new Error(`no leader found for ${queues.join(', ')}`);
  return serviceOf(leader);
}

/** Waits until the node's container is healthy and it sees all three nodes running (it has rejoined the cluster). */
export async function awaitNodeBack(project: ClusterProject, node: string, timeoutMs = 180_000): Promise<void> {
  await waitFor(`${node} healthy`, async () => (await project.health(node)) === 'running healthy' || undefined, timeoutMs, 1000);
  await waitFor(
    `${node} to see three running nodes`,
    async () => {
      const status = JSON.parse(await project.rabbit(node, 'rabbitmqctl', '-q', 'cluster_status', '--formatter', 'json')) as {
        running_nodes: string[];
      };
      return status.running_nodes.length === RABBITMQ_NODES.length || undefined;
    },
    timeoutMs,
    CLI_POLL_MS,
  );
}

/** Stopping this node now would leave no quorum queue without a majority (the check an upgrade runs first). */
export async function awaitNotQuorumCritical(project: ClusterProject, node: string, timeoutMs = 120_000): Promise<void> {
  await waitFor(
    `${node} not quorum-critical`,
    async () => (await project.rabbit(node, 'rabbitmq-diagnostics', '-q', 'check_if_node_is_quorum_critical')) !== undefined,
    timeoutMs,
    CLI_POLL_MS,
  );
}

/** The Redis node Sentinel names as master, as a compose service (Sentinel may name it by address). */
export async function redisMaster(project: ClusterProject): Promise<string> {
  const [host] = (
    await docker(['exec', project.container('sentinel-1'), 'redis-cli', '-p', '26379', 'sentinel', 'get-master-addr-by-name', 'warren'])
  )
    .trim()
    .split('\n');
  for (const node of REDIS_NODES) {
    if (host === node) return node;
    const ip = (
      await docker(['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', project.container(node)])
    ).trim();
    if (ip && ip === host) return node;
  }
  throw new Error(`Sentinel names ${host} as master, which is no redis node of the project`);
}

/** The replication role a Redis node reports (`master`, `slave`). */
export async function redisRole(project: ClusterProject, node: string): Promise<string> {
  const info = await docker(['exec', project.container(node), 'redis-cli', 'info', 'replication']);
  return /role:(\w+)/.exec(info)?.[1] ?? 'unknown';
}
