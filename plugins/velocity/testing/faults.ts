import { SimulatorFaults } from '../../../kernel/api';

/** The bridge's faults are the shared ones; `errorRatio` answers 503 as a busy proxy does. */
export class BridgeFaults extends SimulatorFaults {
  constructor(latencyMs = 0) {
    super({ latencyMs, errorStatus: 503 });
  }
}
