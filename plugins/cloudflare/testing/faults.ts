import { SimulatorFaults } from '../../../kernel/api';

/** Cloudflare's faults on top of the shared ones (`errorRatio` answers 500). */
export class CloudflareFaults extends SimulatorFaults {
  /** Listing ignores its type and name filter and answers the whole zone (a server-side regression). */
  ignoreListFilter = false;

  constructor(latencyMs = 0) {
    super({ latencyMs, errorStatus: 500 });
  }

  override clear(): void {
    super.clear();
    this.ignoreListFilter = false;
  }
}
