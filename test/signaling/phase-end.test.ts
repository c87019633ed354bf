// PhaseEnd: what signaling holds until the end of an I/O phase. Deferred
// tasks (rooms' users-updated) run before any held socket is uncorked, so
// their frames join the phase's write; a failing task never leaves a socket
// corked.
import t from 'tap'
import { PhaseEnd } from '../../plugins/signaling/phase-end.ts'
import Fastify, { type FastifyBaseLogger } from 'fastify'
import { captureLogs, type LogCapture } from '../helpers/logs.ts'

function logger (): { log: FastifyBaseLogger, capture: LogCapture } {
  const capture = captureLogs()
  return { log: Fastify({ logger: { stream: capture.stream } }).log, capture }
}

const phaseEnded = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

t.test('tasks run before held sockets are uncorked, all in one phase end', async (t) => {
  const phaseEnd = new PhaseEnd(logger().log)
  const order: string[] = []
  const held = (name: string): { uncork: () => void } => ({ uncork: () => { order.push(`uncork ${name}`) } })
  phaseEnd.hold(held('a'))
  phaseEnd.defer(() => {
    order.push('task 1')
    // A task that writes to another socket and defers more work: both join this phase end.
    phaseEnd.hold(held('b'))
    phaseEnd.defer(() => { order.push('task 2') })
  })
  t.strictSame(order, [], 'nothing runs before the phase ends')
  await phaseEnded()
  t.strictSame(order, ['task 1', 'task 2', 'uncork a', 'uncork b'])

  order.length = 0
  phaseEnd.hold(held('c'))
  await phaseEnded()
  t.strictSame(order, ['uncork c'], 'the next phase is scheduled afresh')
})

t.test('a failing task is logged; the other tasks run and every socket is uncorked', async (t) => {
  const { log, capture } = logger()
  const phaseEnd = new PhaseEnd(log)
  const order: string[] = []
  phaseEnd.hold({ uncork: () => { order.push('uncork') } })
  phaseEnd.defer(() => { throw new Error('boom') })
  phaseEnd.defer(() => { order.push('task') })
  await phaseEnded()
  t.strictSame(order, ['task', 'uncork'])
  t.match(capture.records(), [{ level: 50, msg: /deferred to the end of the I\/O phase failed/, err: { message: 'boom' } }])
})
