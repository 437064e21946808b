// What one look at one endpoint ends with, before it becomes a Resolution: a reason with its evidence (fields),
// plus the credentials tried. Shared by the credential attempts, the inspection and the resolver.
import type { Reference } from '../reference/reference.ts';
import type { RegistryError } from './errors.ts';
import type { Platform, RegistryOutcome, Resolution } from './resolution.ts';

/** What one inspection of one reference asks (inspect.ts, and not-found.ts when the manifest is missing). */
export interface InspectRequest {
  ref: Reference;
  /** Candidate platforms; empty: any platform will do (no platform check). */
  platforms: Platform[];
  suggestTags: boolean;
  mirror: boolean;
}

export type Fields = Omit<Partial<Resolution>, 'definite' | 'reason' | 'image' | 'credentialsTried' | 'credentialUsed'>;

/** An inspection either answers (any reason) or fails with a registry error the caller classifies. */
export type Inspection = { kind: 'done'; reason: RegistryOutcome; fields: Fields } | { kind: 'failed'; error: RegistryError };

export interface Outcome {
  reason: RegistryOutcome;
  fields: Fields;
  credentialsTried: string[];
  credentialUsed?: string;
}

export function done(reason: RegistryOutcome, fields: Fields = {}): Inspection {
  return { kind: 'done', reason, fields };
}

export function failed(error: RegistryError): Inspection {
  return { kind: 'failed', error };
}

/** The Resolution fields carried by a RegistryError. */
export function errorFields(e: RegistryError): Fields {
  const f: Fields = { detail: e.message };
  if (e.status !== undefined) f.status = e.status;
  const said = e.registryMessage();
  // A status another host gave (a redirect target demanding auth) is not what "the registry said".
  if (said !== undefined && e.status !== undefined && e.errorCode !== 'FOREIGN_AUTH') f.registryMessage = said;
  if (e.unreachable) f.cause = e.unreachable;
  if (e.retryAfterSeconds !== undefined) f.retryAfterSeconds = e.retryAfterSeconds;
  return f;
}
