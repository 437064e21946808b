// pullguard's own schemas are valid JSON Schema (draft-07, Ajv strict mode): checked here once, because the Ajv
// instances that use them skip the meta-schema check at start-up (it cost every CLI start ~80 ms; issue #13).
import { Ajv } from 'ajv';
import t from 'tap';
import { configSchema } from '../../src/config.ts';
import { credentialProviderConfigSchema } from '../../src/credentials/provider-config.ts';
import { registryConfigSchema } from '../../src/registry/config.ts';

const cases: [string, object][] = [
  ['the config file schema', configSchema],
  ['the registry config schema', registryConfigSchema],
  ['the CredentialProviderConfig schema', credentialProviderConfigSchema],
];

for (const [name, schema] of cases) {
  t.test(`${name} is valid against the meta-schema and compiles in strict mode`, async (t) => {
    const ajv = new Ajv({ allErrors: true, strict: true });
    t.equal(ajv.validateSchema(schema), true, ajv.errorsText(ajv.errors));
    t.doesNotThrow(() => ajv.compile(schema));
  });
}

t.test('a schema error the meta-schema catches is caught here (the check is not vacuous)', async (t) => {
  const ajv = new Ajv({ allErrors: true, strict: true });
  t.equal(ajv.validateSchema({ type: 'object', properties: { port: { type: 'integer', minimum: 'one' } } }), false);
});
