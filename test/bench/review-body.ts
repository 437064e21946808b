// AdmissionReview bodies for the bench: the real v1.26 Deployment envelope from test/fixtures/admission with only the
// uid and the container image changed. Bodies are spliced from string parts, so making one costs the load
// generator next to nothing and every target (webhook or bare route) gets byte-for-byte the same shape.
import { readFileSync } from 'node:fs';

export const UID_MARKER = '@@bench-uid@@';
const IMAGE_MARKER = '@@bench-image@@';
const NAME_MARKER = '@@bench-container@@';
const FIXTURE = new URL('../fixtures/admission/v1.26/deployment.json', import.meta.url);

/** `container`: the container's name (default: the fixture's), so a review can differ from another in its spec only. */
export type ReviewBody = (uid: string, image: string, container?: string) => string;

interface Deployment {
  request: { uid: string; object: { spec: { template: { spec: { containers: { name: string; image: string }[] } } } } };
}

/** A function from (uid, image) to the Deployment AdmissionReview body the API server would send. */
export function deploymentReviewBody(): ReviewBody {
  const review = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Deployment;
  const containers = review.request.object.spec.template.spec.containers;
  if (containers.length !== 1) throw new Error(`expected one container in ${FIXTURE.pathname}`);
  const name = containers[0]!.name;
  review.request.uid = UID_MARKER;
  containers[0]!.image = IMAGE_MARKER;
  containers[0]!.name = NAME_MARKER;
  const text = JSON.stringify(review);
  const [a, rest] = splitOnce(text, JSON.stringify(UID_MARKER));
  // The fixture writes the container's name before its image.
  const [b, rest2] = splitOnce(rest, JSON.stringify(NAME_MARKER));
  const [c, d] = splitOnce(rest2, JSON.stringify(IMAGE_MARKER));
  return (uid, image, container = name) => `${a}${JSON.stringify(uid)}${b}${JSON.stringify(container)}${c}${JSON.stringify(image)}${d}`;
}

function splitOnce(text: string, marker: string): [string, string] {
  const at = text.indexOf(marker);
  if (at < 0 || text.indexOf(marker, at + 1) >= 0) throw new Error(`marker ${marker} must occur exactly once`);
  return [text.slice(0, at), text.slice(at + marker.length)];
}
