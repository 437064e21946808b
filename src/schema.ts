// The one Ajv instance for pullguard's own documents (configuration, registry configuration, credential provider
// files and answers), and the one way their schema errors are said: `source: path: what is wrong`. No document
// gets defaults filled in by Ajv (no useDefaults): a loader that has defaults applies them itself, after validation
// (src/registry/config.ts withDefaults), so validating one document never changes another's shape.
import { Ajv, type ErrorObject } from 'ajv';

// validateSchema: false — checking our own (constant) schemas against the JSON Schema meta-schema compiled the
// meta-schema at every start (~80 ms of a CLI start, issue #13); test/config/schemas-meta.test.ts checks them instead.
export const ajv = new Ajv({ allErrors: true, strict: true, validateSchema: false });

export interface SchemaWording {
  /** How an unknown key is reported, after `source: path: `. Default: `unknown key "name"`. */
  unknownKey?: (name: string) => string;
  /** List an enum's values as JSON (`"enforce", "warn"`) or as written (`v1, v1beta1`). Default: JSON. */
  enumAsJson?: boolean;
  /**
   * How the place of an error is written: `server.port` (dotted, `(top level)` for the root; the default), or the
   * JSON pointer `/registries/r.example.com` (`/` for the root) for documents whose keys contain dots (host names).
   */
  path?: 'dotted' | 'pointer';
  /** A document's own sentence for an error (e.g. what its pattern means); undefined falls back to the common one. */
  explain?: (error: ErrorObject) => string | undefined;
}

export function formatSchemaErrors(errors: ErrorObject[] | null | undefined, source: string, wording: SchemaWording = {}): string[] {
  const unknownKey = wording.unknownKey ?? ((name) => `unknown key "${name}"`);
  return (errors ?? []).map((e) => {
    const where = wording.path === 'pointer'
      ? (e.instancePath ? e.instancePath.replace(/~1/g, '/').replace(/~0/g, '~') : '/')
      : (e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : '(top level)');
    const own = wording.explain?.(e);
    if (own !== undefined) return `${source}: ${where}: ${own}`;
    if (e.keyword === 'additionalProperties') return `${source}: ${where}: ${unknownKey(String(e.params['additionalProperty']))}`;
    if (e.keyword === 'enum') {
      const values = (e.params['allowedValues'] as unknown[]).map((v) => (wording.enumAsJson === false ? String(v) : JSON.stringify(v)));
      return `${source}: ${where}: must be one of ${values.join(', ')}`;
    }
    if (e.keyword === 'const') return `${source}: ${where}: must be ${String(e.params['allowedValue'])}`;
    return `${source}: ${where}: ${e.message ?? 'is invalid'}`;
  });
}
