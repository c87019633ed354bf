// Which young-generation size the standalone server finds in force: the
// operator's own, in any spelling Node accepts, or none (then it caps it).
import t from 'tap'
import { semiSpaceSetting } from '../../examples/standalone/young-generation.ts'

t.test('no flag anywhere: V8 sizes it (and the server will cap it)', async (t) => {
  t.equal(semiSpaceSetting([], undefined), undefined)
  t.equal(semiSpaceSetting(['--expose-gc'], '--max-old-space-size=512'), undefined)
})

t.test('the operator\'s size, from NODE_OPTIONS or the command line, in each spelling', async (t) => {
  t.equal(semiSpaceSetting([], '--max-semi-space-size=8'), '8')
  t.equal(semiSpaceSetting([], '  --trace-warnings   --max_semi_space_size=32 '), '32')
  t.equal(semiSpaceSetting(['--max-semi-space-size', '4'], undefined), '4')
  t.equal(semiSpaceSetting(['--max-semi-space-size'], undefined), '', 'a bare flag still counts as set: Node reports its error')
})

t.test('the command line wins over NODE_OPTIONS, as in Node', async (t) => {
  t.equal(semiSpaceSetting(['--max-semi-space-size=2'], '--max-semi-space-size=64'), '2')
})
