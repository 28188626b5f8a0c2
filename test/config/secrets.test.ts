import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../harness';
import { bootOptions as boot, refusal } from '../harness/boot-options';

const real = (name: string, options: Record<string, unknown> = {}) => ({ [name]: { options: { simulate: false, ...options } } });

describe('Plugin secrets outside simulate mode', () => {
  const cases: Array<{ key: string; env: NodeJS.ProcessEnv; plugins: Record<string, unknown> }> = [
    { key: 'plugins.velocity.options.proxyToken', env: { VELOCITY_BRIDGE_URL: 'http://velocity:8577', VELOCITY_BRIDGE_TOKEN: 'b' }, plugins: real('velocity') },
    { key: 'plugins.velocity.options.bridgeToken', env: { VELOCITY_BRIDGE_URL: 'http://velocity:8577', VELOCITY_PROXY_TOKEN: 'p' }, plugins: real('velocity') },
    { key: 'plugins.proxmox.options.tokenSecret', env: { PROXMOX_URL: 'https://pve1:8006/api2/json', PROXMOX_TOKEN_ID: 'zpack@pve!ctl' }, plugins: real('proxmox') },
    { key: 'plugins.cloudflare.options.apiToken', env: { CLOUDFLARE_ZONE_ID: 'z' }, plugins: real('cloudflare') },
    { key: 'plugins.codeserver.options.ide.secret', env: {}, plugins: real('codeserver') },
    { key: 'plugins.headscale.options.apiKey', env: { HEADSCALE_URL: 'https://headscale.example.com' }, plugins: real('headscale') },
    { key: 'plugins.email.options.smtp.password', env: { SMTP_USER: 'mailer' }, plugins: { email: { options: { transport: 'smtp' } } } },
    { key: 'plugins.stripe.options.secretKey', env: { STRIPE_WEBHOOK_SECRET: 'whsec_x' }, plugins: real('stripe') },
    { key: 'plugins.stripe.options.webhookSecret', env: { STRIPE_SECRET_KEY: 'sk_live_x' }, plugins: real('stripe') },
  ];
  for (const { key, env, plugins } of cases) {
    it(`refuses to boot without ${key}, naming it with code secret_required`, () => {
      const err = refusal(() => boot(env, plugins));
      expect(err.code).to.equal('secret_required');
      expect(err.message).to.contain(key);
    });
  }

  it('refuses a secret made only of whitespace', () => {
    const env = { VELOCITY_BRIDGE_URL: 'http://velocity:8577', VELOCITY_BRIDGE_TOKEN: 'b', VELOCITY_PROXY_TOKEN: '   ' };
    expect(refusal(() => boot(env, real('velocity')))).to.include({ code: 'secret_required' });
  });

  it('boots the embedded default (every plugin simulated) without any secret', () => {
    expect(boot({}).map((p) => p.definition.name)).to.include.members(['proxmox', 'agent', 'cloudflare', 'velocity', 'email', 'stripe']);
  });

  it('gives no secret in config/default.yaml a non-empty fallback', () => {
    const yaml = readFileSync(path.join(projectRoot, 'config', 'default.yaml'), 'utf8');
    const secrets = [...yaml.matchAll(/\$\{([A-Z0-9_]*(?:TOKEN|SECRET|PASSWORD|KEY)[A-Z0-9_]*)(?::-([^}]*))?\}/g)];
    expect(secrets.length).to.be.greaterThan(5);
    expect(secrets.filter(([, , fallback]) => fallback).map(([m]) => m)).to.deep.equal([]);
  });
});

describe('config/production.example.yaml', () => {
  const env: NodeJS.ProcessEnv = {
    ZPACK_CONFIG: 'config/production.example.yaml',
    DATABASE_URL: 'postgres://db/zpack', REDIS_URL: 'redis://redis:6379',
    ZPACK_JWT_SECRET: 'j'.repeat(40), ZPACK_AGENT_SECRET: 'a'.repeat(40),
    SMTP_HOST: 'smtp.example.com', SMTP_USER: 'mailer', SMTP_PASSWORD: 'pw',
    PROXMOX_URL: 'https://pve1:8006/api2/json', PROXMOX_TOKEN_ID: 'zpack@pve!ctl', PROXMOX_TOKEN_SECRET: 's',
    CLOUDFLARE_API_TOKEN: 'c', CLOUDFLARE_ZONE_ID: 'z',
    VELOCITY_BRIDGE_URL: 'http://velocity:8577', VELOCITY_BRIDGE_TOKEN: 'b', VELOCITY_PROXY_TOKEN: 'p',
    CODESERVER_IDE_SECRET: 'i'.repeat(40), ARTIFACT_SHA256_NODE_22: 'e'.repeat(64),
    HEADSCALE_URL: 'https://headscale.example.com', HEADSCALE_API_KEY: 'h',
    ZPACK_METRICS_TOKEN: 'm'.repeat(40),
    STRIPE_SECRET_KEY: 'sk_live_x', STRIPE_WEBHOOK_SECRET: 'whsec_x',
    DISCORD_OPS_WEBHOOK_URL: 'https://discord.com/api/webhooks/1/ops', DISCORD_SUPPORT_WEBHOOK_URL: 'https://discord.com/api/webhooks/2/support',
  };

  it('boots against the real systems, none simulated, when every secret is in the environment', () => {
    const options = Object.fromEntries(boot(env).map((p) => [p.definition.name, p.options as { simulate?: boolean }]));
    for (const name of ['proxmox', 'agent', 'cloudflare', 'velocity', 'codeserver', 'headscale', 'modrinth', 'stripe', 'discord']) {
      expect(options[name].simulate, name).to.equal(false);
    }
  });

  const secrets: Array<[variable: string, key: string]> = [
    ['VELOCITY_PROXY_TOKEN', 'plugins.velocity.options.proxyToken'],
    ['PROXMOX_TOKEN_SECRET', 'plugins.proxmox.options.tokenSecret'],
    ['CLOUDFLARE_API_TOKEN', 'plugins.cloudflare.options.apiToken'],
    ['SMTP_PASSWORD', 'plugins.email.options.smtp.password'],
    ['CODESERVER_IDE_SECRET', 'plugins.codeserver.options.ide.secret'],
    ['HEADSCALE_API_KEY', 'plugins.headscale.options.apiKey'],
    ['ZPACK_JWT_SECRET', 'auth.jwtSecret'],
    ['ZPACK_METRICS_TOKEN', 'metrics.token'],
    ['STRIPE_WEBHOOK_SECRET', 'plugins.stripe.options.webhookSecret'],
    ['DISCORD_OPS_WEBHOOK_URL', 'plugins.discord.options.webhooks.ops'],
  ];
  for (const [variable, key] of secrets) {
    it(`refuses to boot without ${variable}, naming ${key}`, () => {
      const err = refusal(() => boot({ ...env, [variable]: undefined }));
      expect(err.code).to.equal('missing_environment');
      expect(err.message).to.contain(`config ${key}: environment variable ${variable} is not set`);
    });
  }
});
