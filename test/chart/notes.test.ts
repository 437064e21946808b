// NOTES.txt tells the user how to see pullguard work and how to change its mode.
import t from 'tap';
import { notes, testCA } from './render.ts';

const enforce = notes();
// Helm 3 renders NOTES.txt only against a cluster.
const skip = enforce === undefined ? 'this helm cannot render NOTES.txt without a cluster' : false;

t.test('in enforce mode the notes show a dry run being denied and how to switch to warn', { skip }, async (t) => {
  t.match(enforce, 'kubectl run pullguard-test --image=nginx:lates --dry-run=server');
  t.match(enforce, 'admission webhook "images.pullguard.io" denied the request');
  t.match(enforce, '--reuse-values --set config.mode=warn');
  t.match(enforce, 'kubectl label namespace NAME pullguard.io/mode=warn');
  t.match(enforce, 'failurePolicy: Ignore');
});

t.test('in warn mode the notes show the warning and how to switch to enforce', { skip }, async (t) => {
  const warn = notes({ config: { mode: 'warn' } });
  t.match(warn, 'in warn mode');
  t.match(warn, 'Warning:');
  t.notMatch(warn, 'denied the request');
  t.match(warn, '--set config.mode=enforce');
});

t.test('the notes say when pull secrets cannot be read, and when reviews fail closed', { skip }, async (t) => {
  const text = notes({ rbac: { readSecrets: false }, webhook: { failurePolicy: 'Fail' } });
  t.match(text, 'rbac.readSecrets=false: pullguard cannot read pull secrets');
  t.match(text, 'failurePolicy is Fail');
});

t.test('an external webhook gets no in-cluster instructions', { skip }, async (t) => {
  const text = notes({ webhook: { url: 'https://10.0.0.5:8443/validate', external: true }, tls: { caBundle: testCA } });
  t.match(text, 'calling https://10.0.0.5:8443/validate');
  t.notMatch(text, 'rollout status');
});

t.test('the notes say how to check that the API server really calls pullguard (helm test)', { skip }, async (t) => {
  t.match(enforce, 'helm test rel -n guard-system --logs');
  t.match(enforce, '`helm install --wait` fails');
  t.notMatch(notes({ tests: { enabled: false } }), 'helm test');
});
