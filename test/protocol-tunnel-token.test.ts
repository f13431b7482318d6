// Stream tokens (src/protocol/tunnel-token.ts): a minted token verifies for its own session, stream
// and lifetime only; any other secret, session, stream, time or alteration is refused with its reason.
import t from 'tap';
import fc from 'fast-check';
import { TUNNEL_TOKEN_MAX_LIFETIME_MS, mintTunnelToken, newAgentSecret, verifyTunnelToken } from '../src/protocol/index.js';

const SECRET = newAgentSecret();
const NOW = 1_800_000_000_000;
const CLAIMS = { sessionId: 42, streamId: 7, email: 'jane@example.com', fullName: 'Jane Doe', expiresAt: NOW + 30_000 };
const token = mintTunnelToken({ agentSecret: SECRET, ...CLAIMS });
const expected = { sessionId: 42, streamId: 7, now: NOW };

t.test('a token verifies for its session and stream and names the IT member', async (t) => {
  const result = verifyTunnelToken(token, SECRET, expected);
  t.same(result, { ok: true, claims: CLAIMS });
});

t.test('each mismatch is refused with its own reason', async (t) => {
  const reason = (r: ReturnType<typeof verifyTunnelToken>): string => (r.ok ? 'accepted' : r.reason);
  t.equal(reason(verifyTunnelToken(token, newAgentSecret(), expected)), 'bad_signature');
  t.equal(reason(verifyTunnelToken(token, SECRET, { ...expected, sessionId: 43 })), 'wrong_session');
  t.equal(reason(verifyTunnelToken(token, SECRET, { ...expected, streamId: 8 })), 'wrong_stream');
  t.equal(reason(verifyTunnelToken(token, SECRET, { ...expected, now: CLAIMS.expiresAt })), 'expired');
  const long = mintTunnelToken({ agentSecret: SECRET, ...CLAIMS, expiresAt: NOW + TUNNEL_TOKEN_MAX_LIFETIME_MS + 1 });
  t.equal(reason(verifyTunnelToken(long, SECRET, expected)), 'too_long_lived');
  const max = mintTunnelToken({ agentSecret: SECRET, ...CLAIMS, expiresAt: NOW + TUNNEL_TOKEN_MAX_LIFETIME_MS });
  t.equal(reason(verifyTunnelToken(max, SECRET, expected)), 'accepted');
  t.equal(reason(verifyTunnelToken('', SECRET, expected)), 'malformed');
  t.equal(reason(verifyTunnelToken('rt1.x.y', SECRET, expected)), 'malformed');
  t.equal(reason(verifyTunnelToken('rt1.' + 'a'.repeat(3000) + '.b', SECRET, expected)), 'malformed');
  t.equal(reason(verifyTunnelToken(token, 'not-a-secret', expected)), 'malformed');
});

t.test('a payload swapped under a valid signature is refused', async (t) => {
  const other = mintTunnelToken({ agentSecret: SECRET, ...CLAIMS, email: 'mallory@example.com' });
  const [, payload] = other.split('.');
  const [, , mac] = token.split('.');
  const spliced = `rt1.${payload}.${mac}`;
  const result = verifyTunnelToken(spliced, SECRET, expected);
  t.equal(result.ok ? 'accepted' : result.reason, 'bad_signature');
});

t.test('mint refuses a malformed secret or out-of-range claims', async (t) => {
  t.throws(() => mintTunnelToken({ agentSecret: 'short', ...CLAIMS }), /agent secret/);
  t.throws(() => mintTunnelToken({ agentSecret: SECRET, ...CLAIMS, streamId: -1 }), RangeError);
  t.throws(() => mintTunnelToken({ agentSecret: SECRET, ...CLAIMS, email: '' }), RangeError);
  t.throws(() => mintTunnelToken({ agentSecret: SECRET, ...CLAIMS, expiresAt: 1.5 }), RangeError);
});

const claims = fc.record({
  sessionId: fc.nat(),
  streamId: fc.nat({ max: 0xffff_ffff }),
  email: fc.string({ minLength: 1, maxLength: 256 }),
  fullName: fc.string({ maxLength: 256 }),
  lifetime: fc.integer({ min: 1, max: TUNNEL_TOKEN_MAX_LIFETIME_MS }),
});

t.test('property: any claims round-trip through mint and verify', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(claims, ({ lifetime, ...c }) => {
        const minted = mintTunnelToken({ agentSecret: SECRET, ...c, expiresAt: NOW + lifetime });
        const r = verifyTunnelToken(minted, SECRET, { sessionId: c.sessionId, streamId: c.streamId, now: NOW });
        return r.ok && r.claims.email === c.email && r.claims.fullName === c.fullName;
      }),
      { numRuns: 300 },
    ),
  );
});

t.test('property: no single-character change of a token verifies, and none throws', async (t) => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.';
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.nat({ max: token.length - 1 }), fc.constantFrom(...alphabet), (at, ch) => {
        if (token[at] === ch) return true;
        const altered = token.slice(0, at) + ch + token.slice(at + 1);
        return !verifyTunnelToken(altered, SECRET, expected).ok;
      }),
      { numRuns: 1000 },
    ),
  );
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.string({ maxLength: 3000 }), (junk) => !verifyTunnelToken(junk, SECRET, expected).ok),
      { numRuns: 300 },
    ),
  );
});
