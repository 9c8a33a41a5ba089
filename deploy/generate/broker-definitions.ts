import { publishedKeys, type ServiceDeclaration } from '../../shared/lifecycle/declaration';
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
export const passwordEnv = (name: string): string => `RABBITMQ_${envName(name)}_PASSWORD`;
/** A service's name as it appears inside a variable: `fixture-courier` is `FIXTURE_COURIER`. */
export const envName = (name: string): string => name.toUpperCase().replace(/-/g, '_');

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\#]/g, '\\$&');
/** A regex matching exactly these names (an empty list matches nothing a client can name). */
const exactly = (names: readonly string[]): string => (names.length === 0 ? '^$' : `^(${[...new Set(names)].map(escape).join('|')})$`);

/**
 * What a service's user may write: the events exchange (topic permissions narrow it to the routing keys the service
 * publishes) and the failures exchange of each queue it consumes (its retry and dead-letter copies). Nothing else:
 * not the default exchange (a push into any queue by name), not a queue (`queue.bind` needs write on the queue).
 */
function writePattern(service: ServiceDeclaration, exchange: string): string {
  return exactly([exchange, ...service.consumes.map((q) => failuresExchangeName(q.name))]);
}

/**
 * What a service's user may read: the queues it consumes with their retry tiers and DLQ, nothing else. Not the
 * events exchange: reading an exchange is what binding from it takes, and an exchange-to-exchange binding from
 * `warren.events` into its own failures exchange would let it re-route any event. Its tiers and DLQ because
 * RabbitMQ 4 refuses a passive declare (the service's look at its topology) of a queue the user may neither read
 * nor configure; reading them gives nothing another service owns. Checked against the real broker by
 * test/deploy/rabbitmq-permissions.test.ts (3.10) and the Kubernetes tier (4.3).
 */
function readPattern(service: ServiceDeclaration): string {
  const own = service.consumes.map((q) => `${escape(q.name)}(${escape('.retry.')}[0-9]+|${escape(deadLetterQueueName(''))})?`);
  return own.length === 0 ? '^$' : `^(${own.join('|')})$`;
}

/**
 * RabbitMQ definitions for the fleet, one least-privilege user per service plus the operator, each with a
 * `password_env` (deploy/rabbitmq/render-definitions.mjs and the chart fill in the password). The topology is the
 * operator's (`topology apply`, run by compose's one-shot and the chart's job): no service user may configure
 * anything, so none can declare, delete or re-route an exchange or a queue. Topic permissions follow the
 * declarations: a service may publish only the routing keys it declares, and bind none.
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
      ...services.map((s) => ({
        user: brokerUser(s.name),
        vhost,
        configure: '^$',
        write: writePattern(s, exchange),
        read: readPattern(s),
      })),
      { user: brokerUser(ADMIN_USER), vhost, configure: '.*', write: '.*', read: '.*' },
    ],
    exchanges: [{ name: exchange, vhost, type: 'topic', durable: true, auto_delete: false, internal: false, arguments: {} }],
    topic_permissions: services.map((s) => ({
      user: brokerUser(s.name),
      vhost,
      exchange,
      write: exactly(publishedKeys(s)),
      read: '^$',
    })),
  };
}
