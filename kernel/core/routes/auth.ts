import { z } from 'zod';
import type { ApiRouter } from '../../api';
import type { AuthService } from '../auth/auth-service';
import { rateLimitHeaders } from '../auth/rate-limit';
import { tokenPairSchema as tokenPair, userSchema as user } from './schemas';

const credentials = z.object({ email: z.email().max(254), password: z.string().min(1).max(1024) });
const accepted = z.object({ accepted: z.literal(true) });

/** RateLimit-Limit / -Remaining / -Reset (seconds) on the routes a window counts, 429s included. */
const RATE_LIMIT = {
  'RateLimit-Limit': 'Requests this address may make in the current window',
  'RateLimit-Remaining': 'Requests left in the current window (0 on a 429)',
  'RateLimit-Reset': 'Seconds until the window starts afresh',
};

/** Answers carrying tokens must not be kept by any cache on the way (RFC 6749 §5.1). */
const NO_STORE = { 'Cache-Control': 'no-store' };

export function authRoutes(r: ApiRouter, auth: AuthService): void {
  r.route({
    method: 'post', path: '/api/auth/register', summary: 'Create an account (the same answer, and a mail, whether or not the email has one)', auth: 'none', tags: ['auth'],
    operationId: 'register', errors: [429], responseHeaders: RATE_LIMIT,
    body: credentials, responses: { 201: z.object({ user }) },
    handler: async ({ body, koa }) => ({ status: 201, body: { user: await auth.signUp(body.email, body.password, koa.ip, rateLimitHeaders(koa)) } }),
  });
  r.route({
    method: 'post', path: '/api/auth/login', summary: 'Log in; returns an access and a refresh token', auth: 'none', tags: ['auth'],
    operationId: 'login', errors: [401, 429], responseHeaders: RATE_LIMIT,
    body: credentials, responses: { 200: tokenPair },
    handler: async ({ body, koa }) => ({ body: await auth.login(body.email, body.password, koa.ip, rateLimitHeaders(koa)), headers: NO_STORE }),
  });
  r.route({
    method: 'post', path: '/api/auth/refresh', summary: 'Rotate the refresh token', auth: 'none', tags: ['auth'],
    operationId: 'refreshSession', errors: [401],
    body: z.object({ refreshToken: z.string().min(1).max(512) }), responses: { 200: tokenPair },
    handler: async ({ body }) => ({ body: await auth.refresh(body.refreshToken), headers: NO_STORE }),
  });
  r.route({
    method: 'post', path: '/api/auth/logout', summary: 'End this session at once', auth: 'user', tags: ['auth'],
    operationId: 'logout', responses: { 204: null },
    handler: async ({ sessionId }) => {
      await auth.logout(sessionId);
      return { status: 204 };
    },
  });
  r.route({
    method: 'post', path: '/api/auth/password-reset/request', summary: 'Email a reset link (202 whatever the email)', auth: 'none', tags: ['auth'],
    operationId: 'requestPasswordReset', responses: { 202: accepted }, errors: [429], responseHeaders: RATE_LIMIT,
    body: z.object({ email: z.email().max(254) }),
    handler: async ({ body, koa }) => {
      await auth.requestPasswordReset(body.email, koa.ip, rateLimitHeaders(koa));
      return { status: 202, body: { accepted: true as const } };
    },
  });
  r.route({
    method: 'post', path: '/api/auth/password-reset/confirm', summary: 'Set a new password with a reset token; revokes every session', auth: 'none', tags: ['auth'],
    operationId: 'confirmPasswordReset', responses: { 204: null },
    body: z.object({ token: z.string().min(1).max(256), password: z.string().min(1).max(1024) }),
    handler: async ({ body }) => {
      await auth.confirmPasswordReset(body.token, body.password);
      return { status: 204 };
    },
  });
}
