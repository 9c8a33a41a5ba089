/**
 * The broker state the permission suite runs against: compose's definitions, the chart's with password hashes and
 * the chart's with plaintext passwords, imported in one go (each rabbitmqctl call starts an Erlang VM) under unique
 * names; a connection per service user; and the topology declared by the operator, as in production.
 */
import amqplib from 'amqplib';
import { declareTopology } from '../../../shared/messaging/topology-check';
import { SERVICE_NAMES, type ServiceName } from '../../../workers/registry';
import { importDefinitions, removeDefinitions, type Definitions, type ImportedDefinitions } from '../broker-access';
import { chartDefinitions, chartHashedDefinitions, composeDefinitions } from './definitions-sources';
import { topologyOf } from './service-permissions';

/** What the steps use; everything but `connections` exists once the `before` hook has run. */
export type PermissionsFixture = ReturnType<typeof permissionsFixture>;

/** Registers the import and its removal as hooks of the calling describe block. */
export function permissionsFixture() {
  let defs: ImportedDefinitions;
  let chartDefs: ImportedDefinitions;
  let hashedChartDefs: ImportedDefinitions;
  let hashedUsers: Definitions['users'];
  const connections = {} as Record<ServiceName, amqplib.ChannelModel>;
  let operator: amqplib.ChannelModel;

  before(async () => {
    // One import (each rabbitmqctl call starts an Erlang VM) of compose's hashed definitions, the chart's with
    // password hashes and the chart's with plaintext passwords (discouraged, still working), each under unique names.
    const batch = await Promise.all([composeDefinitions(), chartHashedDefinitions(), chartDefinitions()]);
    hashedUsers = batch[1].definitions.users;
    [defs, hashedChartDefs, chartDefs] = (await importDefinitions(batch)) as [
      ImportedDefinitions,
      ImportedDefinitions,
      ImportedDefinitions,
    ];
    for (const service of SERVICE_NAMES) connections[service] = await amqplib.connect(defs.url(`warren-${service}`));
    // The operator's step (`npm run topology -- apply`, compose's one-shot, the chart's job): the topology is theirs.
    operator = await amqplib.connect(defs.url('warren-admin'));
    const channel = await operator.createChannel();
    for (const service of SERVICE_NAMES) await declareTopology(channel, topologyOf(service));
    await channel.close();
  });

  after(async () => {
    for (const connection of [...Object.values(connections), operator]) await connection?.close().catch(() => undefined);
    await removeDefinitions([defs, hashedChartDefs, chartDefs]);
  });

  return {
    get defs() {
      return defs;
    },
    get chartDefs() {
      return chartDefs;
    },
    get hashedChartDefs() {
      return hashedChartDefs;
    },
    get hashedUsers() {
      return hashedUsers;
    },
    get operator() {
      return operator;
    },
    connections,
  };
}
