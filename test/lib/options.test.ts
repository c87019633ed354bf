import t from 'tap'
import Type from 'typebox'
import { optionsParser } from '../../lib/options.ts'

const Options = Type.Object({
  name: Type.String({ default: 'netplay' }),
  timeoutMs: Type.Integer({ minimum: 0, default: 5000 }),
  nested: Type.Object({
    cooldownMs: Type.Integer({ minimum: 0, default: 30_000 }),
    tags: Type.Array(Type.String(), { default: [] })
  }, { additionalProperties: false, default: {} }),
  client: Type.Optional(Type.Unsafe<object>(Type.Any()))
}, { additionalProperties: false })

const parse = optionsParser('demo', Options)

t.test('applies defaults, also to a missing input and to nested objects', async (t) => {
  const expected = { name: 'netplay', timeoutMs: 5000, nested: { cooldownMs: 30_000, tags: [] } }
  t.same(parse(undefined), expected)
  t.same(parse({}), expected)
  t.same(parse({ nested: { tags: ['a'] } }).nested, { cooldownMs: 30_000, tags: ['a'] })
})

t.test('never mutates the caller\'s object, even a frozen one', async (t) => {
  const input = Object.freeze({ timeoutMs: 10, nested: Object.freeze({ tags: Object.freeze(['a']) }) })
  const parsed = parse(input)
  t.same(input, { timeoutMs: 10, nested: { tags: ['a'] } })
  t.not(parsed.nested, input.nested, 'nested objects are copies')
  t.not(parsed.nested.tags, input.nested.tags, 'arrays are copies')
  parsed.nested.tags.push('b')
  t.same(input.nested.tags, ['a'])
})

t.test('keeps class instances (clients, keys) by reference', async (t) => {
  class Client { connected = true }
  const client = new Client()
  t.equal(parse({ client }).client, client)
})

t.test('undefined values take the default', async (t) => {
  t.equal(parse({ timeoutMs: undefined }).timeoutMs, 5000)
})

t.test('an unknown option is named, at any depth', async (t) => {
  t.throws(() => parse({ timeout: 1 }), { code: 'FST_NETPLAY_OPTIONS_INVALID', message: /"demo\.timeout": unknown option/ })
  t.throws(() => parse({ nested: { cooldown: 1 } }), { code: 'FST_NETPLAY_OPTIONS_INVALID', message: /"demo\.nested\.cooldown": unknown option/ })
})

t.test('an invalid value names the option path', async (t) => {
  t.throws(() => parse({ timeoutMs: -1 }), { code: 'FST_NETPLAY_OPTIONS_INVALID', statusCode: 500, message: /"demo\.timeoutMs"/ })
  t.throws(() => parse({ nested: { tags: [1] } }), { code: 'FST_NETPLAY_OPTIONS_INVALID', message: /"demo\.nested\.tags\.0"/ })
  t.throws(() => parse('fast'), { code: 'FST_NETPLAY_OPTIONS_INVALID', message: /"demo"/ })
})

t.test('a map entry is named by the caller', async (t) => {
  t.throws(() => parse({ timeoutMs: -1 }, 'demo.items.first'), { code: 'FST_NETPLAY_OPTIONS_INVALID', message: /"demo\.items\.first\.timeoutMs"/ })
})
