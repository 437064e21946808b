import t from 'tap';
import { ajv, formatSchemaErrors } from '../../src/schema.ts';

const validate = ajv.compile({
  type: 'object',
  additionalProperties: false,
  properties: {
    mode: { enum: ['enforce', 'warn'] },
    kind: { const: 'Thing' },
    server: { type: 'object', additionalProperties: false, properties: { port: { type: 'integer' } } },
  },
});

t.test('schema errors say the source, the dotted path and what is wrong, every error at once', async (t) => {
  t.notOk(validate({ mdoe: 1, mode: 'block', kind: 'Other', server: { port: 'x' } }));
  t.same(formatSchemaErrors(validate.errors, 'config.yaml').sort(), [
    'config.yaml: (top level): unknown key "mdoe"',
    'config.yaml: kind: must be Thing',
    'config.yaml: mode: must be one of "enforce", "warn"',
    'config.yaml: server.port: must be integer',
  ]);
});

t.test('a document format can word unknown keys its own way and list enum values as written', async (t) => {
  t.notOk(validate({ extra: true, mode: 'block' }));
  t.same(formatSchemaErrors(validate.errors, 'providers.yaml', { unknownKey: (k) => `unknown field "${k}"`, enumAsJson: false }).sort(), [
    'providers.yaml: (top level): unknown field "extra"',
    'providers.yaml: mode: must be one of enforce, warn',
  ]);
});

t.test('no errors, no lines', async (t) => {
  t.same(formatSchemaErrors(null, 'x'), []);
});
