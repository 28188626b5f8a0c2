import { BillingGate, ConflictError, InstanceAgent, InstanceType, Tokens, UnavailableError, definePlugin } from '../../kernel/api';
import type { InstanceView, PluginContext } from '../../kernel/api';
import { RuntimeCatalog } from './catalog';
import { codeserverConfig, type CodeserverConfig } from './config';
import { DevAgent } from './dev-agent';
import { IdeCredentials } from './ide/credentials';
import { IdeGate } from './ide/gate';
import { IdeHosts } from './ide/hosts';
import { CodeServerProxy } from './ide/proxy';
import { IdeService, LEGACY_PREFIX } from './ide/service';
import { CodeServerType } from './instance-type';
import { RUNTIME_ROLLBACK, RUNTIME_UPGRADE, runtimeRollback, runtimeUpgrade } from './operations';
import { devRoutes } from './routes';
import { observeDevContainer } from './status';

const TYPE = 'codeserver';

/** Kept per kernel, so two kernels in one process each close their own sockets. */
class CodeserverRuntime {
  unsubscribe?: () => void;
  constructor(readonly gate: IdeGate, readonly proxy: CodeServerProxy) {}
}

export default definePlugin({
  name: 'codeserver',
  version: '1.0.0',
  kernelApi: '2',
  consumes: [{ port: InstanceAgent }, { port: BillingGate, optional: true }],
  description: 'Dev containers: the codeserver type, the verified runtime catalog, the hosted browser IDE proxy, runtime upgrades',
  config: codeserverConfig,
  register(ctx) {
    const catalog = new RuntimeCatalog(ctx.config.catalog);
    const dev = new DevAgent(() => ctx.resolve(InstanceAgent));
    const billing = () => ctx.resolveAll(BillingGate)[0];
    ctx.provide(InstanceType, () => new CodeServerType(ctx.config, catalog, async (accountId) => (await billing()?.entitlementsOf(accountId)) ?? null));

    const credentials = new IdeCredentials(ctx.config.ide.secret);
    const hosts = new IdeHosts(ctx.config.devDomain, ctx.config.publicPort, ctx.config.publicScheme);
    const gate = new IdeGate({
      credentials, type: TYPE, recheckMs: ctx.config.ide.recheckMs,
      sessions: () => ctx.resolve(Tokens.Sessions),
      access: () => ctx.resolve(Tokens.Access),
      directory: () => ctx.resolve(Tokens.Instances),
    });
    const proxy = new CodeServerProxy(ctx.config.codeServer.timeoutMs);
    ctx.provide(CodeserverRuntime, () => new CodeserverRuntime(gate, proxy));
    const ide = new IdeService({
      credentials, gate, hosts, proxy, cookieTtlSeconds: ctx.config.ide.cookieTtlSeconds, secureCookie: ctx.config.publicScheme === 'https',
      upstreamOf: (instance) => upstreamOf(ctx, instance),
      allowedOrigins: () => [],
      spend: async (nonce, expiresAt) => {
        const ttl = Math.max(1, expiresAt - Date.now());
        return (await ctx.resolve(Tokens.Redis).set(`${ctx.resolve(Tokens.RedisPrefix)}:codeserver:ide-token-spent:${nonce}`, '1', 'PX', ttl, 'NX')) === 'OK';
      },
    });

    // Taken before koa: the proxy streams, so the API's middleware would only cost.
    ctx.rawRoutes({ host: hosts.pattern }, (request) => ide.hosted(request));
    ctx.upgrade({ host: hosts.pattern }, (upgrade) => ide.hostedSocket(upgrade));
    ctx.rawRoutes({ prefix: LEGACY_PREFIX }, (request) => ide.legacy(request));
    ctx.upgrade({ path: `${LEGACY_PREFIX}/:id{/*rest}` }, (upgrade) => ide.legacySocket(upgrade));
    ctx.routes((r) => devRoutes(r, { ctx, catalog, dev, credentials, hosts, ide, type: TYPE }));

    const directory = () => ctx.resolve(Tokens.Instances);
    ctx.operations.define(RUNTIME_UPGRADE, runtimeUpgrade({ catalog, dev, directory, section: ctx.name }));
    ctx.operations.define(RUNTIME_ROLLBACK, runtimeRollback({ catalog, dev, directory, section: ctx.name }));

    // What the agent last said of code-server and the runtime, recorded; /status reads the record.
    ctx.statusSection('codeserver', async (instance) => (instance.type === TYPE ? instance.payload[ctx.name] ?? null : null));
    ctx.hooks.afterProvision.tapPromise(ctx.name, async (instance) => {
      if (instance.type === TYPE) await observeDevContainer(dev, directory(), ctx.name, instance, ctx.logger);
    });
    ctx.loop('observe', { intervalMs: ctx.config.observeIntervalMs, leader: true }, async ({ signal }) => {
      for (const instance of await directory().list({ type: TYPE, states: ['running'] })) {
        if (signal.aborted) return;
        await observeDevContainer(dev, directory(), ctx.name, instance, ctx.logger);
      }
    });
  },
  async start(ctx) {
    const runtime = ctx.resolve(CodeserverRuntime);
    const gate = runtime.gate;
    runtime.unsubscribe = ctx.resolve(Tokens.Sessions).onEnded((ended) => gate.ended(ended));
  },
  async stop(ctx) {
    const runtime = ctx.resolve(CodeserverRuntime);
    runtime.unsubscribe?.();
    runtime.gate.closeAll();
    runtime.proxy.close();
  },
});

/** A container's code-server base URL, from its stored address; in simulate mode, the agent simulator's. */
function upstreamOf(ctx: PluginContext<CodeserverConfig>, instance: InstanceView): string {
  if (instance.vmid === null) throw new ConflictError('The dev container is still being created');
  const { port, endpoint } = ctx.config.codeServer;
  if (ctx.config.simulate) {
    const agents = ctx.resolve(Tokens.Simulators).lookup('agent');
    if (!agents) throw new UnavailableError('codeserver simulate needs the agent plugin simulating in this kernel');
    return `${agents}/ct/${instance.vmid}/codeserver`;
  }
  if (!instance.host) throw new ConflictError('The dev container has no address yet');
  return endpoint.replaceAll('{host}', instance.host).replaceAll('{vmid}', String(instance.vmid)).replaceAll('{port}', String(port));
}
