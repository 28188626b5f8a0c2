import type { SimAnswer, SimRequest, SimRoute } from './routes';
import { StagingError, type StagedChange } from './sim-staging';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

async function answer(act: () => Promise<SimAnswer>): Promise<SimAnswer> {
  try {
    return await act();
  } catch (err) {
    if (err instanceof StagingError) return { status: err.status, body: err.body };
    throw err;
  }
}

/** Downloads checked by hash, applied to the server folder as one batch (README, "Staged downloads"). */
export const stagingRoutes: readonly SimRoute[] = [
  {
    method: 'POST',
    path: '/staging',
    handle: ({ container, body }: SimRequest) => answer(async () => {
      if (!isObject(body) || typeof body.url !== 'string' || typeof body.sha512 !== 'string' || !/^[a-f0-9]{128}$/i.test(body.sha512)
        || (body.sizeBytes !== undefined && !Number.isInteger(body.sizeBytes))) {
        return { status: 400, body: { error: 'invalid_request', expected: '{url, sha512 (128 hex), sizeBytes?}' } };
      }
      const staged = await container.staging.fetch(body.url, body.sha512, body.sizeBytes as number | undefined);
      return { status: 201, body: staged };
    }),
  },
  {
    method: 'POST',
    path: '/staging/apply',
    handle: ({ container, body }: SimRequest) => answer(async () => {
      if (!isObject(body) || !Array.isArray(body.changes) || body.changes.length > 500) {
        return { status: 400, body: { error: 'invalid_request', expected: '{changes:[{put:{id,path}}|{move:{from,to}}|{delete:{path}}]}' } };
      }
      const applied = await container.staging.apply(body.changes as StagedChange[]);
      return { status: 200, body: { applied } };
    }),
  },
  {
    method: 'DELETE',
    path: '/staging/:id',
    handle: ({ container, params }: SimRequest) => answer(async () => {
      await container.staging.discard(params.id);
      return { status: 204, body: undefined };
    }),
  },
];
