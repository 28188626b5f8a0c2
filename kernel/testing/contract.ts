import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

interface MediaType { schema?: unknown }
interface ResponseObject { content?: Record<string, MediaType> }
interface Operation { responses?: Record<string, ResponseObject & { $ref?: string }> }
type PathItem = Record<string, Operation>;
export interface OpenApiDocument { paths?: Record<string, PathItem>; components?: { responses?: Record<string, ResponseObject> } }

/** One answer as the client saw it. */
export interface SeenResponse {
  method: string;
  path: string;
  status: number;
  contentType: string;
  text: string;
}

const SELF = 'https://zpack.invalid/openapi.json';
const ERROR_REF = `${SELF}#/components/schemas/Error`;

/**
 * Checks answers against the kernel's own OpenAPI document: the status must be documented for the
 * operation, and a JSON body must match that status's schema (ajv, JSON Schema 2020-12 as OpenAPI
 * 3.1 uses it). A path the document does not know may only answer with the error envelope.
 */
export class ResponseContract {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true });
  private readonly validators = new Map<string, ValidateFunction>();
  private readonly routes: Array<{ template: string; pattern: RegExp; params: number }>;

  constructor(private readonly document: OpenApiDocument) {
    addFormats(this.ajv);
    // OpenAPI's formats for bytes; JSON never carries them, so any string passes.
    for (const format of ['binary', 'byte', 'int32', 'int64', 'float', 'double']) this.ajv.addFormat(format, true);
    this.ajv.addSchema({ $id: SELF, components: document.components ?? {} });
    this.routes = Object.keys(document.paths ?? {}).map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
      params: (template.match(/\{/g) ?? []).length,
    })).sort((a, b) => a.params - b.params);
  }

  /** Why the answer breaks the contract, or undefined when it keeps it. */
  violation(seen: SeenResponse): string | undefined {
    const path = seen.path.split('?')[0];
    const method = seen.method.toLowerCase() === 'head' ? 'get' : seen.method.toLowerCase();
    const matching = this.routes.filter((r) => r.pattern.test(path));
    const route = matching.find((r) => this.document.paths![r.template][method]) ?? matching[0];
    const operation = route ? this.document.paths![route.template][method] : undefined;
    if (!route || !operation) {
      if (seen.status < 400) return `${seen.method} ${path} answered ${seen.status} but the document has no such operation`;
      return this.checkBody('error envelope', { $ref: ERROR_REF }, seen, 'application/json');
    }
    const where = `${method.toUpperCase()} ${route.template}`;
    const response = this.resolve(operation.responses?.[String(seen.status)]);
    if (!response) return `${where} answered ${seen.status}, which the document does not list (${Object.keys(operation.responses ?? {}).join(', ')})`;
    const content = response.content;
    if (!content) return seen.text === '' ? undefined : `${where} ${seen.status} is documented without a body but sent one`;
    const media = Object.keys(content).find((type) => seen.contentType.split(';')[0].trim() === type);
    if (!media) return `${where} ${seen.status} sent ${seen.contentType || 'no content type'}; the document lists ${Object.keys(content).join(', ')}`;
    if (media !== 'application/json' || seen.method.toLowerCase() === 'head') return undefined;
    return this.checkBody(`${where} ${seen.status}`, content[media].schema ?? {}, seen, media, where);
  }

  /** A response given as `{ $ref: '#/components/responses/…' }` is read from the components. */
  private resolve(response: (ResponseObject & { $ref?: string }) | undefined): ResponseObject | undefined {
    const name = response?.$ref?.replace('#/components/responses/', '');
    return name === undefined ? response : this.document.components?.responses?.[name];
  }

  private checkBody(key: string, schema: unknown, seen: SeenResponse, media: string, where = `${seen.method} ${seen.path}`): string | undefined {
    if (!seen.contentType.startsWith(media)) return `${where} ${seen.status} sent ${seen.contentType || 'no content type'}, not ${media}`;
    let body: unknown;
    try {
      body = JSON.parse(seen.text);
    } catch {
      return `${where} ${seen.status} sent a body that is not JSON`;
    }
    const validate = this.validator(key, schema);
    if (validate(body)) return undefined;
    const problems = (validate.errors ?? []).slice(0, 5).map((e) => `${e.instancePath || '(body)'} ${e.message}`).join('; ');
    return `${where} ${seen.status} does not match the document: ${problems}\n${seen.text.slice(0, 500)}`;
  }

  /** Compiled once per operation and status; refs to components point into the document's own resource. */
  private validator(key: string, schema: unknown): ValidateFunction {
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(anchored(schema) as object);
      this.validators.set(key, validate);
    }
    return validate;
  }
}

/** A copy of `schema` whose local refs (#/components/…) name the document resource instead. */
function anchored(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(anchored);
  if (schema === null || typeof schema !== 'object') return schema;
  return Object.fromEntries(Object.entries(schema).map(([k, v]) =>
    [k, k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `${SELF}${v}` : anchored(v)]));
}
