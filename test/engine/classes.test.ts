import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {CLASSES, availableClasses, selectClass} from '../../src/engine/classes.js'
import {ParamReader} from '../../src/engine/params.js'
import {openDBM} from '../../src/engine/poly.js'
import {Code, StatusError} from '../../src/engine/status.js'

describe('the class table', () => {
  it('lists, for every class this build opens, exactly the tuning parameters its factory takes', () => {
    for (const info of availableClasses()) {
      const reader = new ParamReader(new Map())
      const dbm = info.factory!(reader)
      assert.equal(dbm.className, info.className)
      assert.equal(dbm.isOrdered(), info.ordered, info.name)
      assert.deepEqual([...reader.asked].sort(), info.params.map((param) => param.name).sort(), info.name)
    }
  })

  it('selects a class by every extension and alias, and names no extension twice', () => {
    const seen = new Set<string>()
    for (const info of CLASSES) {
      for (const ext of info.extensions) {
        assert.ok(!seen.has(ext), ext)
        seen.add(ext)
        assert.equal(selectClass(`dir/casket.${ext}`).name, info.name)
        assert.equal(selectClass(`casket.${ext.toUpperCase()}-00001-of-00003`).name, info.name)
      }
      for (const alias of [info.name, ...info.aliases]) assert.equal(selectClass('x.tkh', alias.toUpperCase()).name, info.name)
    }
    assert.equal(selectClass('').name, 'tiny')
    assert.throws(
      () => selectClass('casket.txt'),
      (error: unknown) => error instanceof StatusError && error.code === Code.INVALID_ARGUMENT_ERROR,
    )
  })

  it('answers NOT_IMPLEMENTED_ERROR for a class that is not built yet', () => {
    for (const info of CLASSES.filter((entry) => !entry.factory)) {
      assert.throws(
        () => openDBM('', new Map([['dbm', info.name]])),
        (error: unknown) => error instanceof StatusError && error.code === Code.NOT_IMPLEMENTED_ERROR,
      )
    }
  })
})
