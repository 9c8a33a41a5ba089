/**
 * The dlq tool against a real broker and fleet, as one operator's session: fill the DLQs, read them, replay, purge,
 * then the edges. The steps are in test/integration/dlq/, run in this order on one fleet (scenario.ts).
 */
import { deadLetterSteps } from './dlq/dead-letter-steps';
import { inspectAndReplaySteps } from './dlq/inspect-and-replay-steps';
import { purgeAndEdgeSteps } from './dlq/purge-and-edge-steps';
import { dlqScenario } from './dlq/scenario';

describe('dlq tool (real broker): list, show, replay to the failing queue only, purge', function () {
  this.timeout(120_000);
  const s = dlqScenario();

  deadLetterSteps(s);
  inspectAndReplaySteps(s);
  purgeAndEdgeSteps(s);
});
