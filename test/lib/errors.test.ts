import t from 'tap'
import { defineError, errorBody, isCoded, statusOf, InternalError, OptionsInvalidError } from '../../lib/errors.ts'

const RoomFullError = defineError<[string]>('FST_NETPLAY_TEST_ROOM_FULL', 'room %s is full', 409)
const LegacyError = defineError('FST_NETPLAY_TEST_LEGACY', 'slow down', 429, 'rate_limited')

t.test('defined errors carry code, status and formatted message', async (t) => {
  const err = new RoomFullError('r1')
  t.ok(err instanceof Error)
  t.equal(err.code, 'FST_NETPLAY_TEST_ROOM_FULL')
  t.equal(err.statusCode, 409)
  t.ok(isCoded(err))
  t.equal(statusOf(err), 409)
})

t.test('the wire body is { error, message }', async (t) => {
  const body = errorBody(new RoomFullError('r1'))
  t.same(Object.keys(body).sort(), ['error', 'message'])
  t.equal(body.error, 'FST_NETPLAY_TEST_ROOM_FULL')
  t.type(body.message, 'string')
})

t.test('a wire code replaces the code on the wire only', async (t) => {
  const err = new LegacyError()
  t.equal(err.code, 'FST_NETPLAY_TEST_LEGACY')
  t.equal(errorBody(err).error, 'rate_limited')
  t.notOk(Object.keys(err).includes('wireCode'), 'not an own enumerable field (not logged as one)')
})

t.test('details reach the body but cannot override error or message', async (t) => {
  const err = Object.assign(new RoomFullError('r1'), { details: { retryAfterMs: 250, error: 'spoofed', message: 'spoofed' } })
  const body = errorBody(err)
  t.equal(body.retryAfterMs, 250)
  t.equal(body.error, 'FST_NETPLAY_TEST_ROOM_FULL')
  t.not(body.message, 'spoofed')
})

t.test('unexpected errors are hidden behind FST_NETPLAY_INTERNAL', async (t) => {
  const secret = 'ECONNREFUSED redis://:hunter2@10.0.0.5'
  for (const thrown of [new Error(secret), Object.assign(new Error(secret), { code: 'ECONNREFUSED' }), secret, null, undefined]) {
    const body = errorBody(thrown)
    t.same(body, errorBody(new InternalError()))
    t.equal(body.error, 'FST_NETPLAY_INTERNAL')
    t.notMatch(JSON.stringify(body), /hunter2/)
  }
})

t.test('Fastify\'s own coded errors keep their code', async (t) => {
  const err = Object.assign(new Error('body too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 })
  t.equal(errorBody(err).error, 'FST_ERR_CTP_BODY_TOO_LARGE')
  t.equal(statusOf(err), 413)
})

t.test('statusOf: only 4xx/5xx count, anything else is 500', async (t) => {
  t.equal(statusOf(new OptionsInvalidError('x', 'y')), 500)
  t.equal(statusOf(Object.assign(new Error('x'), { statusCode: 302 })), 500)
  t.equal(statusOf(Object.assign(new Error('x'), { statusCode: 600 })), 500)
  t.equal(statusOf(Object.assign(new Error('x'), { statusCode: '404' })), 500)
  t.equal(statusOf(undefined), 500)
  t.equal(statusOf(Object.assign(new Error('x'), { statusCode: 404 })), 404)
})
