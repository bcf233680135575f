/**
 * The HTTP application (Fastify): routes, the API key check, CORS, the body limit, and one error handler
 * that turns every failure — bad JSON, oversize bodies, unknown routes, validation, a crash inside a handler
 * — into OpenAI's error shape without ever taking the process down.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import * as T from '../../../index.js';
import { handleCompletion, RETRY_AFTER_SECONDS, type ServeState } from './completions.js';
import { ApiError } from './errors.js';

export interface AppOptions {
  /** Requests must carry `Authorization: Bearer <apiKey>` when set. */
  readonly apiKey?: string;
  /** Largest request body in bytes. */
  readonly bodyLimit: number;
  /** Origins browsers may call from (CORS); `*` for any, empty for none. */
  readonly allowedOrigins: readonly string[];
  /** True once a shutdown began: new requests get 503. */
  readonly draining: () => boolean;
  /** Unix seconds the model was loaded (`created` in /v1/models). */
  readonly created: number;
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The Bearer token check, in constant time (hashes make the lengths equal). */
function authorize(header: string | undefined, expected: Buffer): void {
  if (!header) {
    throw new ApiError(
      401,
      "You didn't provide an API key. Send it in an Authorization header using Bearer auth " +
        '(Authorization: Bearer YOUR_KEY); the server was started with --api-key.',
      { code: 'missing_api_key' },
    );
  }
  const match = /^Bearer\s+(.+)$/i.exec(header);
  if (!match || !timingSafeEqual(sha256(match[1].trim()), expected)) {
    throw new ApiError(401, 'Incorrect API key provided: use the key the server was started with (--api-key).', {
      code: 'invalid_api_key',
    });
  }
}

/** Fastify's own errors (body parsing, limits) and anything thrown, as the ApiError the client gets. */
function toApiError(thrown: unknown, bodyLimit: number): ApiError {
  if (thrown instanceof ApiError) return thrown;
  const err: Partial<FastifyError> & Error = thrown instanceof Error ? thrown : new Error(String(thrown));
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new ApiError(
      413,
      `The request body is larger than this server accepts (${bodyLimit} bytes, --body-limit).`,
      {
        code: 'request_too_large',
      },
    );
  }
  const status = err.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) return new ApiError(status, err.message);
  return new ApiError(500, `The server had an error while processing your request: ${err.message}`);
}

function sendError(reply: FastifyReply, error: ApiError): FastifyReply {
  if (error.retryAfter !== undefined) reply.header('retry-after', String(error.retryAfter));
  return reply.status(error.status).type('application/json; charset=utf-8').send(error.body);
}

export function buildApp(s: ServeState, o: AppOptions): FastifyInstance {
  const app = Fastify({ bodyLimit: o.bodyLimit, logger: false, return503OnClosing: false });
  const expectedKey = o.apiKey === undefined ? undefined : sha256(o.apiKey);

  // Bodies are JSON whatever their content type says (curl -d sends form encoding, mlx-lm ignores the header),
  // parsed here so malformed JSON is a 400 in OpenAI's words.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string));
    } catch (e) {
      done(
        new ApiError(
          400,
          `We could not parse the JSON body of your request: ${e instanceof Error ? e.message : String(e)}. ` +
            'Send a JSON object (Content-Type: application/json).',
          { code: 'invalid_json' },
        ),
        undefined,
      );
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (o.allowedOrigins.includes('*')) reply.header('access-control-allow-origin', '*');
    else if (origin !== undefined && o.allowedOrigins.includes(origin)) {
      reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
    }
    if (request.method === 'OPTIONS') return;
    if (expectedKey) authorize(request.headers.authorization, expectedKey);
    if (o.draining()) {
      reply.header('connection', 'close');
      throw new ApiError(503, 'the server is shutting down; retry on another instance or once it is back', {
        code: 'server_shutting_down',
        retryAfter: RETRY_AFTER_SECONDS,
      });
    }
  });

  app.setErrorHandler((err, request, reply) => {
    const error = toApiError(err, o.bodyLimit);
    if (error.status >= 500) {
      s.log.error(
        `${request.method} ${request.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
      );
    } else s.log.debug(`${request.method} ${request.url}: ${error.status} ${error.message}`);
    return sendError(reply, error);
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      new ApiError(404, `Unknown request URL: ${request.method} ${request.url}. Please check the URL for typos.`, {
        code: 'unknown_url',
      }),
    ),
  );

  // CORS preflight: browsers send it without credentials, so it is answered before the key check.
  app.options('*', async (_request, reply) =>
    reply
      .status(204)
      .header('access-control-allow-methods', 'GET, POST, OPTIONS')
      .header('access-control-allow-headers', 'Authorization, Content-Type')
      .send(),
  );

  app.get('/health', async () => {
    const memory = T.memory();
    return {
      status: 'ok',
      model: s.modelId,
      running: s.queue.running,
      waiting: s.queue.waiting,
      memory: { tensors: memory.tensors, bytes: memory.bytes },
    };
  });

  const modelObject = () => ({ id: s.modelId, object: 'model', created: o.created, owned_by: 'efficientai-toolkit' });
  app.get('/v1/models', async () => ({ object: 'list', data: [modelObject()] }));
  // A wildcard: a model id may be a path with slashes.
  app.get<{ Params: { '*': string } }>('/v1/models/*', async (request) => {
    const id = request.params['*'];
    if (id === s.modelId || s.modelAliases.includes(id)) return modelObject();
    throw new ApiError(404, `The model '${id}' does not exist: this server serves '${s.modelId}'.`, {
      param: 'model',
      code: 'model_not_found',
    });
  });

  app.post('/v1/completions', (request, reply) => handleCompletion('text', request, reply, s));
  app.post('/v1/chat/completions', (request, reply) => handleCompletion('chat', request, reply, s));
  return app;
}
