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

t.test('a document with dotted keys can name places by JSON pointer and say its own sentence for a keyword', async (t) => {
  const hosts = ajv.compile({ type: 'object', additionalProperties: { type: 'object', additionalProperties: false, required: ['host'], properties: { host: { type: 'string' } } } });
  t.notOk(hosts({ 'r.example.com': { hots: 'x' }, 'a~b/c': { host: 1 } }));
  const explain = (e: { keyword: string }) => (e.keyword === 'required' ? 'missing required key' : undefined);
  t.same(formatSchemaErrors(hosts.errors, 'cfg', { path: 'pointer', explain }).sort(), [
    'cfg: /a~b/c/host: must be string',
    'cfg: /r.example.com: missing required key',
    'cfg: /r.example.com: unknown key "hots"',
  ]);
  t.notOk(validate([]));
  t.same(formatSchemaErrors(validate.errors, 'cfg', { path: 'pointer' }), ['cfg: /: must be object']);
});
