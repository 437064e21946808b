// The one Ajv instance for pullguard's own documents (configuration, credential provider files and answers), and
// the one way their schema errors are said: `source: dotted.path: what is wrong`. src/registry/config.ts keeps its
// own instance for now: it fills defaults in (useDefaults), which must not happen to the other documents.
import { Ajv, type ErrorObject } from 'ajv';

export const ajv = new Ajv({ allErrors: true, strict: true });

export interface SchemaWording {
  /** How an unknown key is reported, after `source: path: `. Default: `unknown key "name"`. */
  unknownKey?: (name: string) => string;
  /** List an enum's values as JSON (`"enforce", "warn"`) or as written (`v1, v1beta1`). Default: JSON. */
  enumAsJson?: boolean;
}

export function formatSchemaErrors(errors: ErrorObject[] | null | undefined, source: string, wording: SchemaWording = {}): string[] {
  const unknownKey = wording.unknownKey ?? ((name) => `unknown key "${name}"`);
  return (errors ?? []).map((e) => {
    const where = e.instancePath ? e.instancePath.slice(1).replaceAll('/', '.') : '(top level)';
    if (e.keyword === 'additionalProperties') return `${source}: ${where}: ${unknownKey(String(e.params['additionalProperty']))}`;
    if (e.keyword === 'enum') {
      const values = (e.params['allowedValues'] as unknown[]).map((v) => (wording.enumAsJson === false ? String(v) : JSON.stringify(v)));
      return `${source}: ${where}: must be one of ${values.join(', ')}`;
    }
    if (e.keyword === 'const') return `${source}: ${where}: must be ${String(e.params['allowedValue'])}`;
    return `${source}: ${where}: ${e.message ?? 'is invalid'}`;
  });
}
