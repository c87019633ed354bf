import t from 'tap'
import { TURN_MAX_TTL_MS, turnCredentials, turnPassword, verifyTurnCredentials } from '../../plugins/sfu/turn.ts'

// Expected values computed independently, once, on the command line:
//   printf '%s' '1700000000:alice' | openssl dgst -sha1 -hmac north -binary | base64
//   printf '%s' '1700003600:alice' | openssl dgst -sha1 -hmac north -binary | base64
//   printf '%s' '1700003600:alice' | openssl dgst -sha1 -hmac south -binary | base64
//   printf '%s' '1433895918:user'  | openssl dgst -sha1 -hmac logen -binary | base64
const VECTORS: Array<[secret: string, username: string, credential: string]> = [
  ['north', '1700000000:alice', 'Cd/49soE35ICqcJF/bCTn8Z4OyE='],
  ['north', '1700003600:alice', 'wjwSXO2ch1B6VaLTLMy2Avn5O9o='],
  ['south', '1700003600:alice', 'fr6fHLw0BtV33kMxYVPDmRQEse4='],
  ['logen', '1433895918:user', 'KFLl1sC4biIDkeiqymyJDFWZuhc=']
]

t.test('known vectors: base64(HMAC-SHA1(secret, username))', async (t) => {
  for (const [secret, username, credential] of VECTORS) t.equal(turnPassword(secret, username), credential, username)
})

t.test('coturn use-auth-secret convention: username is "<expiry unix seconds>:<userid>", default TTL 1 h', async (t) => {
  t.same(
    turnCredentials({ secret: 'north', userid: 'alice', now: 1_699_996_400_000 }),
    { username: '1700000000:alice', credential: 'Cd/49soE35ICqcJF/bCTn8Z4OyE=' }
  )
  t.same(
    turnCredentials({ secret: 'north', userid: 'alice', ttlMs: 600_000, now: 1_700_003_000_999 }),
    { username: '1700003600:alice', credential: 'wjwSXO2ch1B6VaLTLMy2Avn5O9o=' },
    'expiry rounds down to whole seconds'
  )
})

t.test('TTL is capped at 24 h', async (t) => {
  const now = 1_700_000_000_000
  const { username } = turnCredentials({ secret: 'north', userid: 'alice', ttlMs: 7 * TURN_MAX_TTL_MS, now })
  t.equal(username, `${(now + TURN_MAX_TTL_MS) / 1000}:alice`)
})

t.test('rotation: mint with the first secret, verify with any', async (t) => {
  const minted = turnCredentials({ secret: ['south', 'north'], userid: 'alice', now: 1_700_000_000_000 })
  t.same(minted, { username: '1700003600:alice', credential: 'fr6fHLw0BtV33kMxYVPDmRQEse4=' })
  const now = 1_700_000_000_000
  t.ok(verifyTurnCredentials({ secret: ['south', 'north'], ...minted, now }))
  t.ok(verifyTurnCredentials({ secret: ['other', 'north'], username: '1700003600:alice', credential: 'wjwSXO2ch1B6VaLTLMy2Avn5O9o=', now }), 'an older secret still verifies')
  t.notOk(verifyTurnCredentials({ secret: 'north', ...minted, now }), 'a retired secret no longer does')
  t.notOk(verifyTurnCredentials({ secret: ['', 'west'], ...minted, now }))
  t.notOk(verifyTurnCredentials({ secret: 'south', ...minted, now: 1_700_003_601_000 }), 'expired')
  t.notOk(verifyTurnCredentials({ secret: 'south', username: 'soon:alice', credential: minted.credential, now }), 'no timestamp')
  t.notOk(verifyTurnCredentials({ secret: 'south', username: minted.username, credential: 'short', now }))
  t.ok(verifyTurnCredentials({ secret: 'logen', username: '1433895918:user', credential: 'KFLl1sC4biIDkeiqymyJDFWZuhc=', now: 1_433_895_000_000 }))
})

t.test('bad input throws a coded error', async (t) => {
  const code = (fn: () => unknown): string => {
    try {
      fn()
      return 'none'
    } catch (err) {
      return (err as { code: string }).code
    }
  }
  const E = 'FST_NETPLAY_SFU_TURN_INVALID'
  t.equal(code(() => turnCredentials({ secret: '', userid: 'a' })), E)
  t.equal(code(() => turnCredentials({ secret: [], userid: 'a' })), E)
  t.equal(code(() => turnCredentials({ secret: 's', userid: '' })), E)
  t.equal(code(() => turnCredentials({ secret: 's', userid: 'a b' })), E)
  t.equal(code(() => turnCredentials({ secret: 's', userid: 'x'.repeat(257) })), E)
  t.equal(code(() => turnCredentials({ secret: 's', userid: 'a', ttlMs: 0 })), E)
  t.equal(code(() => turnCredentials({ secret: 's', userid: 'a', ttlMs: Number.NaN })), E)
  t.equal(code(() => turnCredentials({ secret: 's', userid: 'a', now: -1 })), E)
  t.equal(code(() => turnCredentials({ secret: 's', userid: '6f1c2d3e-0000-4000-8000-123456789abc' })), 'none', 'UUIDs (bound userids) are fine')
})
