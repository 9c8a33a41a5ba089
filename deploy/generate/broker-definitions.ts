import type { ServiceDeclaration } from '../../shared/lifecycle/service';
import { deadLetterQueueName, failuresExchangeName } from '../../shared/messaging/topology';

/** The broker side of the fleet: the vhost and exchange the definitions grant on. */
export interface BrokerNames {
  /** @defaultValue `warren` */
  vhost: string;
  /** @defaultValue `warren.events` (EVENTS_EXCHANGE's default) */
  exchange: string;
}

const DEFAULT_NAMES: BrokerNames = { vhost: 'warren', exchange: 'warren.events' };

/** The operator account: every right on the vhost (management UI, the DLQ tool). */
export const ADMIN_USER = 'admin';

export const brokerUser = (name: string): string => `warren-${name}`;
/** The variable holding a user's password, in compose's one-shot and the chart (`RABBITMQ_ORDER_PASSWORD`). */
export const passwordEnv = (name: string): string => `RABBITMQ_${name.toUpperCase().replace(/-/g, '_')}_PASSWORD`;

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\#]/g, '\\$&');
/** A regex matching exactly these names (an empty list matches nothing a client can name). */
const exactly = (names: readonly string[]): string => (names.length === 0 ? '^$' : `^(${[...new Set(names)].map(escape).join('|')})$`);

/**
 * The resources a service's user may configure, write and read: the events exchange and, for each queue it
 * consumes, the queue, its retry tiers, its DLQ and its own failures exchange. Checked against the real broker by
 * test/deploy/rabbitmq-permissions.test.ts.
 */
function resourcePattern(service: ServiceDeclaration, exchange: string): string {
  const queues = service.consumes.map((q) => {
    const suffixes = [`${escape('.retry.')}[0-9]+`, escape(deadLetterQueueName('')), escape(failuresExchangeName(''))];
    return `${escape(q.name)}(${suffixes.join('|')})?`;
  });
  return `^(${[escape(exchange), ...queues].join('|')})$`;
}

/**
 * RabbitMQ definitions for the fleet, one least-privilege user per service plus the operator, each with a
 * `password_env` (deploy/rabbitmq/render-definitions.mjs and the chart fill in the password). Topic permissions
 * follow the declarations: a service may publish only the routing keys it declares and bind only those it consumes.
 * The events exchange is declared here too, as the services declare it: from RabbitMQ 4.3 (Khepri) a topic
 * permission on an exchange that does not exist fails the import (`no_such_exchange`), and with it the boot.
 */
export function brokerDefinitions(services: readonly ServiceDeclaration[], names: BrokerNames = DEFAULT_NAMES): object {
  const { vhost, exchange } = names;
  return {
    users: [
      ...services.map((s) => ({ name: brokerUser(s.name), password_env: passwordEnv(s.name), tags: [] })),
      { name: brokerUser(ADMIN_USER), password_env: passwordEnv(ADMIN_USER), tags: ['administrator'] },
    ],
    vhosts: [{ name: vhost }],
    permissions: [
      ...services.map((s) => {
        const pattern = resourcePattern(s, exchange);
        return { user: brokerUser(s.name), vhost, configure: pattern, write: pattern, read: pattern };
      }),
      { user: brokerUser(ADMIN_USER), vhost, configure: '.*', write: '.*', read: '.*' },
    ],
    exchanges: [{ name: exchange, vhost, type: 'topic', durable: true, auto_delete: false, internal: false, arguments: {} }],
    topic_permissions: services.map((s) => ({
      user: brokerUser(s.name),
      vhost,
      exchange,
      write: exactly(s.publishes),
      read: exactly(s.consumes.flatMap((q) => q.bindings)),
    })),
  };
}
