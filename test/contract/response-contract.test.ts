import { expect } from 'chai';
import { z } from 'zod';
import { JsonText, type ApiRouter } from '../../kernel/api';
import { ResponseContract, TestClient, type OpenApiDocument } from '../harness';

const DOC: OpenApiDocument = {
  paths: {
    '/api/things/{id}': {
      get: {
        responses: {
          200: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } },
          404: { $ref: '#/components/responses/Error404' },
        },
      },
    },
  },
  components: {
    schemas: {
      Thing: { type: 'object', properties: { id: { type: 'string' }, size: { type: 'integer' } }, required: ['id', 'size'] },
      Error: { type: 'object', properties: { error: { type: 'object', required: ['code'] } }, required: ['error'] },
    },
    responses: { Error404: { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } },
  } as OpenApiDocument['components'],
};
const json = 'application/json; charset=utf-8';
const seen = (status: number, body: unknown, path = '/api/things/7', contentType = json) =>
  ({ method: 'GET', path, status, contentType, text: JSON.stringify(body) });

describe('The test client’s contract check', () => {
  const contract = new ResponseContract(DOC);

  it('passes an answer whose status is documented and whose body matches its schema', () => {
    expect(contract.violation(seen(200, { id: '7', size: 3 }))).to.equal(undefined);
    expect(contract.violation(seen(404, { error: { code: 'not_found' } }))).to.equal(undefined);
  });

  it('refuses an undocumented status, a body of another shape and another content type', () => {
    expect(contract.violation(seen(409, { error: { code: 'conflict' } }))).to.match(/answered 409, which the document does not list/);
    expect(contract.violation(seen(200, { id: '7', size: 'big' }))).to.match(/does not match the document: \/size must be integer/);
    expect(contract.violation(seen(404, { message: 'gone' }))).to.match(/must have required property 'error'/);
    expect(contract.violation(seen(200, {}, '/api/things/7', 'text/plain'))).to.match(/sent text\/plain/);
  });

  it('lets a path the document does not know answer only with the error envelope', () => {
    expect(contract.violation(seen(404, { error: { code: 'not_found' } }, '/nowhere'))).to.equal(undefined);
    expect(contract.violation(seen(200, { ok: true }, '/nowhere'))).to.match(/no such operation/);
  });

  it('holds the handler declarations below, which compile only where their shape matches the responses', () => {
    const declared: string[] = [];
    handlersTypedByTheirResponses({ route: (spec) => declared.push(spec.operationId), socket: () => undefined });
    expect(declared).to.deep.equal(['ok', 'wrongType', 'missingField', 'otherStatus', 'bodyOn204', 'nothing', 'jsonText', 'jsonTextOfAnotherShape']);
  });

  it('fails the request of a test that receives an answer breaking the document', async () => {
    const client = new TestClient('test://', undefined, async () => ({
      status: 200, headers: new Headers({ 'content-type': json }), text: JSON.stringify({ id: 7 }),
    }), contract);
    const failure = await client.get('/api/things/7').then(() => undefined, (err: Error) => err);
    expect(failure?.message).to.match(/answer breaks the OpenAPI contract: GET \/api\/things\/\{id\} 200 does not match/);
  });
});

/**
 * Compile-time specifications: each `@ts-expect-error` must stay an error, or the build fails.
 * A handler is typed by its route's `responses`, so another shape does not compile.
 */
function handlersTypedByTheirResponses(r: ApiRouter): void {
  const base = { method: 'get', path: '/t', summary: 't', auth: 'none' } as const;
  const thing = z.object({ id: z.string(), size: z.number() });
  r.route({ ...base, operationId: 'ok', responses: { 200: thing }, handler: async () => ({ body: { id: 'a', size: 1 } }) });
  // @ts-expect-error a field of another type
  r.route({ ...base, operationId: 'wrongType', responses: { 200: thing }, handler: async () => ({ body: { id: 'a', size: 'one' } }) });
  // @ts-expect-error a missing field
  r.route({ ...base, operationId: 'missingField', responses: { 200: thing }, handler: async () => ({ body: { id: 'a' } }) });
  // @ts-expect-error a status the route does not declare
  r.route({ ...base, operationId: 'otherStatus', responses: { 201: thing }, handler: async () => ({ status: 200, body: { id: 'a', size: 1 } }) });
  // @ts-expect-error a body on a route that answers 204
  r.route({ ...base, operationId: 'bodyOn204', responses: { 204: null }, handler: async () => ({ status: 204, body: { id: 'a' } }) });
  // @ts-expect-error nothing, where the route promises JSON
  r.route({ ...base, operationId: 'nothing', responses: { 200: thing }, handler: async () => undefined });
  // JSON written elsewhere (by Postgres) stands for the shape its producer declares.
  const written = (text: string) => new JsonText<{ id: string; size: number }>(text);
  const writtenWithoutSize = (text: string) => new JsonText<{ id: string }>(text);
  r.route({ ...base, operationId: 'jsonText', responses: { 200: thing }, handler: async () => ({ body: written('{"id":"a","size":1}') }) });
  // @ts-expect-error JSON text standing for another shape
  r.route({ ...base, operationId: 'jsonTextOfAnotherShape', responses: { 200: thing }, handler: async () => ({ body: writtenWithoutSize('{"id":"a"}') }) });
}
