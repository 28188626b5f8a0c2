/** Every plugin with routes, on its simulator: the document a portal generates its client from in production. */
const PLUGINS = ['proxmox', 'agent', 'minecraft', 'cloudflare', 'velocity', 'stripe', 'modrinth', 'discord', 'support', 'codeserver', 'headscale'];

/** The `plugins` config of a test kernel that enables them all (the email plugin adds no route and would write an outbox). */
export const everyPlugin = (): Record<string, unknown> => Object.fromEntries(PLUGINS.map((name) => [name, {
  enabled: true,
  options: name === 'minecraft' || name === 'support' ? {}
    : name === 'velocity' ? { simulate: true, simulator: { port: 0 }, proxyToken: 'proxy-secret' } : { simulate: true },
}]));
