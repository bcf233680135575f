/**
 * Errors in OpenAI's shape: every failure a client sees is `{"error": {"message", "type", "param", "code"}}`
 * with the status OpenAI would use, so the official clients raise their typed errors (BadRequestError,
 * AuthenticationError, NotFoundError, RateLimitError, ...) and read `Retry-After`.
 * @module
 */
import type { z } from 'zod';

export interface OpenAIErrorBody {
  readonly error: {
    readonly message: string;
    readonly type: string;
    readonly param: string | null;
    readonly code: string | null;
  };
}

export interface ApiErrorOptions {
  readonly type?: string;
  readonly param?: string | null;
  readonly code?: string | null;
  /** Seconds, sent as the Retry-After header (429 and 503). */
  readonly retryAfter?: number;
}

/** A request the server refuses: the HTTP status and the body the client gets. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly type: string;
  readonly param: string | null;
  readonly code: string | null;
  readonly retryAfter: number | undefined;

  constructor(
    readonly status: number,
    message: string,
    options: ApiErrorOptions = {},
  ) {
    super(message);
    this.type = options.type ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
    this.param = options.param ?? null;
    this.code = options.code ?? null;
    this.retryAfter = options.retryAfter;
  }

  get body(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** A 400 about one request field. */
export function invalidRequest(message: string, param: string | null, code: string | null = 'invalid_value'): ApiError {
  return new ApiError(400, message, { param, code });
}

/** A field OpenAI defines that this server accepts only at its neutral value. */
export function unsupported(param: string, what: string): ApiError {
  return invalidRequest(`'${param}' ${what} is not supported by this server`, param, 'unsupported_value');
}

/** `messages[0].content` from a zod path, as OpenAI names nested parameters. */
export function paramName(path: readonly PropertyKey[]): string {
  let name = '';
  for (const key of path) {
    if (typeof key === 'number') name += `[${key}]`;
    else name += name === '' ? String(key) : `.${String(key)}`;
  }
  return name;
}

/**
 * One problem zod found, as OpenAI reports it: an unknown parameter first (OpenAI names those before looking
 * at values), else the first missing parameter, wrong type or value out of range.
 */
export function fromZodError(error: z.ZodError): ApiError {
  const issue = error.issues.find((i) => i.code === 'unrecognized_keys') ?? error.issues[0];
  const param = paramName(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const key = paramName([...issue.path, issue.keys[0]]);
    return invalidRequest(`Unknown parameter: '${key}'.`, key, 'unknown_parameter');
  }
  if (issue.input === undefined && param !== '') {
    return invalidRequest(`Missing required parameter: '${param}'.`, param, 'missing_required_parameter');
  }
  const code = issue.code === 'invalid_type' ? 'invalid_type' : 'invalid_value';
  if (param === '') return invalidRequest(`Invalid request body: ${issue.message}`, null, code);
  return invalidRequest(`Invalid '${param}': ${issue.message}.`, param, code);
}
