import t from 'tap';
import { spawnSync } from 'node:child_process';
import { bcryptHash, htpasswd } from './bcrypt.ts';

t.test('matches the OpenBSD/OpenWall test vectors', async (t) => {
  t.equal(bcryptHash('U*U', '$2a$05$CCCCCCCCCCCCCCCCCCCCC.'), '$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW');
  t.equal(bcryptHash('', '$2a$06$DCq7YPn5Rq63x1Lad4cll.'), '$2a$06$DCq7YPn5Rq63x1Lad4cll.TV4S6ytwfsfvkgY8jIucDrjc8deX1s.');
});

const systemHasBcrypt = (() => {
  const probe = spawnSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', 'a', '$2b$04$abcdefghijklmnopqrstuu'], { encoding: 'utf8' });
  return probe.status === 0 && probe.stdout.startsWith('$2b$');
})();

t.test('agrees with the system crypt(3) (libxcrypt, through perl)', { skip: systemHasBcrypt ? false : 'no perl crypt() with bcrypt here' }, async (t) => {
  const cases: [string, string][] = [
    ['alice-secret', '$2b$04$abcdefghijklmnopqrstuu'],
    ['pässwörd ✓', '$2b$05$0123456789ABCDEFGHIJKu'],
    ['x'.repeat(80), '$2b$04$zzzzzzzzzzzzzzzzzzzzzu'],
  ];
  for (const [password, salt] of cases) {
    const system = spawnSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, salt], { encoding: 'utf8' }).stdout;
    t.equal(bcryptHash(password, salt), system, JSON.stringify(password.slice(0, 20)));
  }
});

t.test('only the first 72 bytes of a password count', async (t) => {
  const salt = '$2b$04$abcdefghijklmnopqrstuu';
  t.equal(bcryptHash('a'.repeat(72) + 'tail', salt), bcryptHash('a'.repeat(72) + 'other', salt));
  t.not(bcryptHash('a'.repeat(71) + 'b', salt), bcryptHash('a'.repeat(71) + 'c', salt));
});

t.test('a fresh salt each time, cost 4 by default', async (t) => {
  const a = bcryptHash('pw');
  const b = bcryptHash('pw');
  t.not(a, b);
  t.match(a, /^\$2b\$04\$[./A-Za-z0-9]{53}$/);
  t.equal(bcryptHash('pw', a), a, 'hashing with the hash as setting reproduces it');
});

t.test('a malformed setting is a programmer error', async (t) => {
  t.throws(() => bcryptHash('pw', '$1$abc'), /bad setting/);
  t.throws(() => bcryptHash('pw', '$2b$03$abcdefghijklmnopqrstuu'), /cost/);
});

t.test('htpasswd writes one user:hash line per user', async (t) => {
  const lines = htpasswd([{ username: 'a', password: 'x' }, { username: 'b', password: 'y' }]).trimEnd().split('\n');
  t.equal(lines.length, 2);
  t.match(lines[0], /^a:\$2b\$04\$/);
  t.match(lines[1], /^b:\$2b\$04\$/);
});
