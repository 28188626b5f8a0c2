import { z } from 'zod';
import { NotFoundError, Tokens, definePlugin, timestamp } from '../../kernel/api';
import { headscaleConfig } from './config';
import { HeadscaleConnection } from './connection';

/** The kind whose containers take SSH keys: dev containers, whatever their type. */
const DEV_KIND = 'dev';

export default definePlugin({
  name: 'headscale',
  version: '1.0.0',
  kernelApi: '2',
  consumes: [],
  description: 'SSH access to dev containers for power users: single-use, expiring Headscale pre-auth keys tagged per container',
  config: headscaleConfig,
  register(ctx) {
    const connection = new HeadscaleConnection(ctx.config);
    ctx.provide(HeadscaleConnection, () => connection);
    // A deleted container's VMID goes to the next one: the nodes tagged for it, and keys still able to
    // join with its tag, must go first, or they would reach whoever gets that VMID next.
    ctx.hooks.onTeardown.tapPromise('headscale', async (instance, report) => {
      if (instance.kind !== DEV_KIND || instance.vmid === null) {
        report.record('headscale_revoke', 'skipped');
        return;
      }
      const tag = `tag:dev-${instance.vmid}`;
      const client = connection.client;
      for (const n of await client.nodes()) if (n.forcedTags.includes(tag) || n.validTags.includes(tag)) await client.deleteNode(n.id);
      const now = Date.now();
      for (const k of await client.preAuthKeys(ctx.config.user)) {
        if (k.aclTags.includes(tag) && !(k.used && !k.reusable) && Date.parse(k.expiration) > now) await client.expirePreAuthKey(ctx.config.user, k.key);
      }
      report.record('headscale_revoke', 'done');
    });
    ctx.routes((r) => r.route({
      method: 'post', path: '/api/dev/:id/ssh-key', operationId: 'createDevSshKey', tags: ['dev'], auth: 'user',
      summary: 'A single-use, expiring Headscale pre-auth key for this dev container, and the SSH config snippet to use it',
      description: 'Join the tailnet once with `tailscale up --login-server <loginServer> --authkey <key>`; the key is tagged `tag:dev-<vmid>`, so the ACL lets it reach that container only.',
      params: z.object({ id: z.uuid() }), errors: [402, 409, 502],
      responses: {
        201: z.object({
          preAuthKey: z.object({ key: z.string(), expiresAt: timestamp(), tags: z.array(z.string()), reusable: z.literal(false) }),
          loginServer: z.string(),
          sshConfig: z.string().meta({ description: 'A ~/.ssh/config block for the container' }),
        }),
      },
      handler: async ({ params, account }) => {
        const instance = await ctx.resolve(Tokens.Access).require(account, params.id, 'console', { mutation: true, action: 'headscale.ssh-key' });
        if (instance.kind !== DEV_KIND) throw new NotFoundError('Dev container');
        if (instance.vmid === null) throw new NotFoundError('Dev container');
        const host = `dev-${instance.vmid}`;
        const key = await connection.client.createPreAuthKey({
          user: ctx.config.user, expiration: new Date(Date.now() + ctx.config.keyTtlSeconds * 1000), aclTags: [`tag:${host}`],
        });
        const sshConfig = [`Host ${host}`, `  HostName ${host}.${ctx.config.tailnetDomain}`, `  User ${ctx.config.sshUser}`, ''].join('\n');
        return {
          status: 201,
          body: { preAuthKey: { key: key.key, expiresAt: key.expiration, tags: key.aclTags, reusable: false }, loginServer: connection.loginServer, sshConfig },
        };
      },
    }));
  },
  async start(ctx) {
    await ctx.resolve(HeadscaleConnection).open(ctx.logger, ctx.resolve(Tokens.Simulators));
  },
  async stop(ctx) {
    await ctx.resolve(HeadscaleConnection).close();
  },
});
