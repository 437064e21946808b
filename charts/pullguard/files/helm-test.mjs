// `helm test`: send a Pod whose image tag does not exist through the API server as a server-side dry run (nothing
// is created) and pass only if pullguard answered: a denial from this webhook, or a warning about the image.
// Silence means the API server never heard from pullguard (pods not ready, wrong caBundle, a NetworkPolicy, the
// Service unreachable) and failurePolicy Ignore admitted the Pod unchecked. Runs on the pullguard image's Node.
import { readFileSync } from 'node:fs';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const host = env('KUBERNETES_SERVICE_HOST');
const port = env('KUBERNETES_SERVICE_PORT');
const namespace = env('PROBE_NAMESPACE');
const image = env('PROBE_IMAGE');
const webhook = env('WEBHOOK_NAME');
const token = readFileSync(env('TOKEN_FILE'), 'utf8').trim();

const pod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { generateName: 'pullguard-helm-test-', namespace },
  spec: { containers: [{ name: 'probe', image }], restartPolicy: 'Never' },
};
const base = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
const url = `${base}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods?dryRun=All`;
console.log(`dry-run create of a Pod with image ${image} in namespace ${namespace}`);

let res;
try {
  res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(pod),
    signal: AbortSignal.timeout(60_000),
  });
} catch (err) {
  console.log(`FAIL: the API server at ${base} could not be reached: ${err.cause?.message ?? err.message}`);
  process.exit(1);
}
const text = await res.text();
let message = text;
try {
  message = JSON.parse(text).message ?? text;
} catch {
  // Not JSON: report the body as it is.
}
// Each Warning header value is `299 - "text"`; fetch joins several with ", ".
const warnings = (res.headers.get('warning') ?? '').split(/,\s*(?=\d{3} )/).filter(Boolean).map((w) => w.replace(/^\d{3} \S+ "(.*)"$/s, '$1'));

if (res.status === 403 && message.includes(`admission webhook "${webhook}" denied the request`)) {
  console.log(`PASS: pullguard denied it (enforce mode):\n${message}`);
  process.exit(0);
}
if (res.ok && warnings.some((w) => w.includes(image) || w.includes('pullguard'))) {
  console.log(`PASS: admitted with pullguard's warning (warn mode, or the registry could not be checked):\n${warnings.join('\n')}`);
  process.exit(0);
}
if (res.ok) {
  console.log(
    `FAIL: the API server admitted ${image} without a word from pullguard, so webhook "${webhook}" was not called or failed ` +
      '(failurePolicy Ignore hides that). Check that the pullguard pods are Ready, that the webhook configuration\'s caBundle ' +
      'and Service are right, that no NetworkPolicy blocks the API server, and the API server log ("failed calling webhook").' +
      (warnings.length ? `\nOther warnings:\n${warnings.join('\n')}` : ''),
  );
  process.exit(1);
}
console.log(`FAIL: the API server answered ${res.status}: ${message}`);
process.exit(1);
