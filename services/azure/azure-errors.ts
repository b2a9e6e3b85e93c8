import { DomainError, isDomainError, type ErrorCode } from '../errors';

/**
 * Azure SDK failures come in three runtimes' shapes (core-client RestError, ms-rest-js
 * RestError, core-lro's plain Error for a failed long-running operation). This reads what
 * matters from any of them and turns it into a DomainError with a stable code.
 */
export interface AzureErrorInfo {
  statusCode?: number;
  code?: string;
  message: string;
  retryAfterSeconds?: number;
}

type Loose = Record<string, unknown>;
const obj = (v: unknown): Loose | undefined => (v !== null && typeof v === 'object' ? (v as Loose) : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

function headerOf(response: Loose | undefined, name: string): string | undefined {
  const headers = obj(response?.headers);
  if (!headers) return undefined;
  const get = headers.get;
  if (typeof get === 'function') {
    const v: unknown = get.call(headers, name);
    return str(v);
  }
  return str(headers[name]);
}

function bodyError(response: Loose | undefined): { code?: string; message?: string } {
  const text = str(response?.bodyAsText);
  let parsed: Loose | undefined = obj(response?.parsedBody) ?? obj(response?.body);
  if (!parsed && text) {
    try {
      parsed = obj(JSON.parse(text));
    } catch {
      parsed = undefined;
    }
  }
  const err = obj(parsed?.error) ?? parsed;
  return { code: str(err?.code), message: str(err?.message) };
}

const LRO_FAILED = /^The long-running operation has failed\. ([A-Za-z0-9_.]+)\. ([\s\S]*)$/;

export function azureErrorInfo(e: unknown): AzureErrorInfo {
  const err = obj(e) ?? {};
  const message = str(err.message) ?? String(e);
  const lro = LRO_FAILED.exec(message);
  if (lro) return { code: lro[1], message: lro[2] };
  const response = obj(err.response);
  const statusCode = typeof err.statusCode === 'number' ? err.statusCode : typeof response?.status === 'number' ? response.status : undefined;
  const fromBody = bodyError(response);
  const details = obj(obj(err.details)?.error) ?? obj(err.details);
  const code = str(details?.code) ?? fromBody.code ?? str(err.code);
  const retryAfter = headerOf(response, 'retry-after');
  const capped = headerOf(response, 'x-rdp-doctor-retry-after-ms');
  const retryAfterSeconds =
    retryAfter !== undefined && /^\d+$/.test(retryAfter) ? Number(retryAfter) : capped !== undefined && /^\d+$/.test(capped) ? Math.ceil(Number(capped) / 1000) : undefined;
  return { statusCode, code, message: str(details?.message) ?? fromBody.message ?? message, retryAfterSeconds };
}

/** The connection broke before Azure answered (no status code): safe to retry a read. */
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'REQUEST_SEND_ERROR', 'UND_ERR_SOCKET']);
export function isNetworkError(e: unknown): boolean {
  const o = obj(e);
  const code = str(o?.code) ?? str(obj(o?.cause)?.code);
  return !!code && NETWORK_CODES.has(code) && azureErrorInfo(e).statusCode === undefined;
}

export function isAbortError(e: unknown): boolean {
  return obj(e)?.name === 'AbortError';
}

/** "does not have authorization to perform action 'X' over scope ..." names the missing permission. */
export function missingPermission(message: string): string | undefined {
  return /perform action '([^']+)'/i.exec(message)?.[1];
}

export interface TranslateContext {
  /** what we were doing, for the log line (never secrets) */
  operation: string;
  /** the VM or resource name, for the user message */
  target?: string;
}

export function toDomainError(e: unknown, ctx: TranslateContext): DomainError {
  if (isDomainError(e)) return e;
  const params: Record<string, string | number> = { operation: ctx.operation };
  if (ctx.target) params.target = ctx.target;
  if (isAbortError(e)) return new DomainError('timeout', `${ctx.operation}: aborted or timed out`, { params, cause: e });
  const info = azureErrorInfo(e);
  const make = (code: ErrorCode, extra: Record<string, string | number> = {}): DomainError =>
    new DomainError(code, `${ctx.operation}: ${info.code ?? info.statusCode ?? 'error'}: ${info.message}`, {
      params: { ...params, ...extra },
      statusCode: info.statusCode,
      azureCode: info.code,
      cause: e,
    });

  if (info.code === 'VMAgentStatusCommunicationError') return make('agent-not-ready');
  switch (info.statusCode) {
    case 401:
      return make('forbidden');
    case 403: {
      const permission = missingPermission(info.message);
      return make('forbidden', permission ? { permission } : {});
    }
    case 404:
      return make('not-found');
    case 409:
      return info.code === 'Conflict' ? make('conflict') : make('azure-error', info.code ? { azureCode: info.code } : {});
    case 429:
      return make('throttled', info.retryAfterSeconds !== undefined ? { retryAfterSeconds: info.retryAfterSeconds } : {});
    case 400:
      return make('azure-error', info.code ? { azureCode: info.code } : {});
    default:
      break;
  }
  if (info.statusCode !== undefined && info.statusCode >= 500) return make('server-error');
  if (isNetworkError(e)) return make('server-error', { network: info.code ?? 'network' });
  return make('azure-error', info.code ? { azureCode: info.code } : {});
}
