import { SIMULATOR_ZONE_ID } from '../../../plugins/cloudflare/testing/simulator';
import type { EmbeddedDefault, SimulatorUrls } from './deployment';

/**
 * The running embedded default's simulated world, read through each simulator's own API (the one
 * the plugins call), with the credentials the deployment was started with.
 */
export class World {
  private readonly urls: SimulatorUrls;

  constructor(private readonly zpack: EmbeddedDefault, private readonly node = 'pve1') {
    this.urls = zpack.simulators();
  }

  /** VMIDs of the containers on the node (Proxmox: GET /nodes/:node/lxc). */
  async containers(): Promise<number[]> {
    const { proxmoxTokenId, proxmoxTokenSecret } = this.zpack.secrets;
    const body = await this.get(`${this.urls.proxmox}/nodes/${this.node}/lxc`, `PVEAPIToken=${proxmoxTokenId}=${proxmoxTokenSecret}`);
    return (body.data as Array<{ vmid: number }>).map((c) => Number(c.vmid));
  }

  /** Names of the SRV records in the zone (Cloudflare: GET /zones/:zone/dns_records?type=SRV). */
  async srvRecords(): Promise<string[]> {
    const body = await this.get(`${this.urls.cloudflare}/zones/${SIMULATOR_ZONE_ID}/dns_records?type=SRV&per_page=5000`, `Bearer ${this.zpack.secrets.cloudflareToken}`);
    return (body.result as Array<{ name: string }>).map((r) => r.name);
  }

  /** Backends registered with the proxy (the Velocity bridge: GET /servers). */
  async proxyBackends(): Promise<Array<{ name: string; forcedHosts: string[] }>> {
    return (await this.get(`${this.urls.velocity}/servers`, `Bearer ${this.zpack.secrets.bridgeToken}`)).servers;
  }

  private async get(url: string, authorization: string): Promise<any> {
    const res = await fetch(url, { headers: { authorization }, signal: AbortSignal.timeout(10_000) });
    if (res.status !== 200) throw new Error(`${url}: ${res.status} ${await res.text()}`);
    return res.json();
  }
}
