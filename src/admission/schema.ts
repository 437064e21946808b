// The AdmissionReview (admission.k8s.io/v1) request as the API server sends it: only what we rely on is
// required; everything else may be present. Validated by Fastify's ajv before the handler runs.

export const admissionReviewSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'request'],
  properties: {
    apiVersion: { const: 'admission.k8s.io/v1' },
    kind: { const: 'AdmissionReview' },
    request: {
      type: 'object',
      required: ['uid', 'kind', 'operation'],
      properties: {
        uid: { type: 'string', minLength: 1, maxLength: 128 },
        kind: {
          type: 'object',
          required: ['kind'],
          properties: { group: { type: 'string' }, version: { type: 'string' }, kind: { type: 'string', minLength: 1, maxLength: 256 } },
        },
        resource: { type: 'object', properties: { group: { type: 'string' }, version: { type: 'string' }, resource: { type: 'string' } } },
        subResource: { type: 'string', maxLength: 256 },
        name: { type: 'string', maxLength: 512 },
        namespace: { type: 'string', maxLength: 256 },
        operation: { enum: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'] },
        dryRun: { type: 'boolean' },
        object: { type: ['object', 'null'] },
        oldObject: { type: ['object', 'null'] },
      },
    },
  },
} as const;

/** `/validate?timeout=10s`: the API server's timeout for this call (parseTimeout); anything else means the default. */
export const validateQuerySchema = {
  type: 'object',
  properties: { timeout: { description: 'Go duration, as the API server appends it: 10s, 1m30s, 500ms' } },
} as const;

/** The answer, serialised from this schema: only these fields ever leave the webhook. */
export const admissionReviewOutSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'response'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { type: 'string' },
    response: {
      type: 'object',
      required: ['uid', 'allowed'],
      properties: {
        uid: { type: 'string' },
        allowed: { type: 'boolean' },
        status: { type: 'object', properties: { code: { type: 'integer' }, reason: { type: 'string' }, message: { type: 'string' } } },
        warnings: { type: 'array', items: { type: 'string' } },
        auditAnnotations: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
  },
} as const;

export interface AdmissionRequest {
  uid: string;
  kind: { group?: string; version?: string; kind: string };
  resource?: { group?: string; version?: string; resource?: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  dryRun?: boolean;
  object?: Record<string, unknown> | null;
  oldObject?: Record<string, unknown> | null;
}

export interface AdmissionReviewIn {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  request: AdmissionRequest;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason: string; message: string };
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionReviewOut {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** `?timeout=10s` as the API server appends it (Go duration: 10s, 1m, 1m30s, 500ms). */
export function parseTimeout(raw: unknown): number | undefined {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 32) return undefined;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(raw)) !== null) {
    const n = Number(m[1]);
    const unit = m[2];
    total += unit === 'ms' ? n : unit === 's' ? n * 1000 : unit === 'm' ? n * 60_000 : n * 3_600_000;
    consumed = re.lastIndex;
  }
  if (consumed !== raw.length || total <= 0) return undefined;
  return Math.min(total, 30_000);
}
